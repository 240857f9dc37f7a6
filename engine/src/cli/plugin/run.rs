//! `engine plugin run` (being built).

use clap::Args;

use crate::EngineError;

/// Arguments of `engine plugin run`.
#[derive(Debug, Args)]
pub struct RunArgs {}

pub(super) async fn execute(_args: RunArgs) -> Result<u8, EngineError> {
    Err(EngineError::Usage(
        "engine plugin run is not built yet".into(),
    ))
}
