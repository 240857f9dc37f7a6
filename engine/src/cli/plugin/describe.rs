//! `engine plugin describe` (being built).

use clap::Args;

use crate::EngineError;

/// Arguments of `engine plugin describe`.
#[derive(Debug, Args)]
pub struct DescribeArgs {}

pub(super) async fn execute(_args: &DescribeArgs) -> Result<u8, EngineError> {
    Err(EngineError::Usage(
        "engine plugin describe is not built yet".into(),
    ))
}
