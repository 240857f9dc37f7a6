//! `engine plugin check` (being built).

use clap::Args;

use crate::EngineError;

/// Arguments of `engine plugin check`.
#[derive(Debug, Args)]
pub struct CheckArgs {}

pub(super) async fn execute(_args: &CheckArgs) -> Result<u8, EngineError> {
    Err(EngineError::Usage(
        "engine plugin check is not built yet".into(),
    ))
}
