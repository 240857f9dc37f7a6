//! `engine schema`: prints the workflow JSON Schema.

use crate::exit;

/// Prints the schema; returns the exit code.
pub(super) fn execute() -> u8 {
    println!("{}", engine_workflow::schema_json());
    exit::SUCCESS
}
