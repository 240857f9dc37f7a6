//! `engine plugin new` (being built).

use clap::Args;

use crate::EngineError;

/// Arguments of `engine plugin new`.
#[derive(Debug, Args)]
pub struct NewArgs {}

pub(super) fn execute(_args: &NewArgs) -> Result<u8, EngineError> {
    Err(EngineError::Usage(
        "engine plugin new is not built yet".into(),
    ))
}
