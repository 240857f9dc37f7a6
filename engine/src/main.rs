//! The `engine` binary: parses arguments and hands them to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    engine::cli::main(engine::cli::Cli::parse())
}
