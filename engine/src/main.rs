//! The `engine` binary: parses arguments and hands them to the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    // Inside an attempt's sandbox the binary is the resident exec server: it must start with
    // nothing else set up (no runtime, no logging, no argument parsing).
    engine_confine::serve_resident_if_requested();
    engine::cli::main_from_env()
}
