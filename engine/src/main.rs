//! The `engine` binary: parses arguments and hands them to the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    engine::cli::main_from_env()
}
