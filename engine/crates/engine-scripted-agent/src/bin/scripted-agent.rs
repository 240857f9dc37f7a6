//! The scripted agent as a standalone program (tests run it; the engine ships it as
//! `engine scripted-agent`).

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    std::process::exit(engine_scripted_agent::main(&args));
}
