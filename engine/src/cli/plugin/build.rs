//! `engine plugin build` (being built).

use clap::Args;

use crate::EngineError;

/// Arguments of `engine plugin build`.
#[derive(Debug, Args)]
pub struct BuildArgs {}

pub(super) async fn execute(_args: &BuildArgs) -> Result<u8, EngineError> {
    Err(EngineError::Usage(
        "engine plugin build is not built yet".into(),
    ))
}
