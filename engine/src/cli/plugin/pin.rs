//! `engine plugin pin` (being built).

use clap::Args;

use crate::EngineError;

/// Arguments of `engine plugin pin`.
#[derive(Debug, Args)]
pub struct PinArgs {}

pub(super) fn execute(_args: &PinArgs) -> Result<u8, EngineError> {
    Err(EngineError::Usage(
        "engine plugin pin is not built yet".into(),
    ))
}
