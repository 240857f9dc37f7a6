//! `engine schema`: prints the workflow JSON Schema.

use crate::{EngineError, exit};

pub(super) fn execute() -> Result<u8, EngineError> {
    println!("{}", engine_workflow::schema_json());
    Ok(exit::SUCCESS)
}
