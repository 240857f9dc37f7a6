//! Built-in stage `gate`: runs check commands (tests, linters, builds) in the worktree and fails
//! when one of them fails.
//!
//! ```yaml
//! test:
//!   uses: builtin:gate
//!   with: { commands: ["cargo test", ["sh", "-c", "make lint"]], timeout: 10m }
//!   permissions: { workspace: read, exec: [cargo, sh] }
//! ```
//!
//! A failing command is a fatal failure (a check fails the same way when run again); a command
//! that ran past its timeout is retryable.
#![warn(missing_docs)]

pub mod config;
pub mod report;

use engine_stage_sdk::exec::{Command, ExecError};
use engine_stage_sdk::{
    Context, Delivery, Descriptor, Permissions, Stage, StageError, Success, WORKSPACE,
    WorkspaceAccess,
};
use serde_json::{Value, json};

use config::{GateConfig, PreparedCommand};
use report::CommandResult;

/// Bytes of stdout and of stderr kept per command (the host caps it at 1 MiB).
const OUTPUT_CAP: u64 = 256 * 1024;

/// The gate stage.
pub struct Gate;

impl Stage for Gate {
    type Config = GateConfig;

    fn describe() -> Descriptor {
        Descriptor::new(
            "gate",
            env!("CARGO_PKG_VERSION"),
            "Runs check commands in the worktree; fails when one fails",
        )
        .config_schema(config::schema())
        .permissions(Permissions {
            workspace: WorkspaceAccess::Read,
            // Programs come from the config; the workflow grants them under permissions.exec.
            exec: Vec::new(),
            agent: false,
            net: Vec::new(),
        })
        .delivery(Delivery::AtLeastOnce)
    }

    fn run(ctx: Context<GateConfig>) -> Result<Success, StageError> {
        let config = ctx.config;
        let commands = config.prepare().map_err(invalid_config)?;
        let timeout = config.timeout().map_err(invalid_config)?;
        let total = commands.len();
        let mut results: Vec<CommandResult> = Vec::with_capacity(total);
        let mut failures: Vec<CommandResult> = Vec::new();

        for (index, command) in commands.iter().enumerate() {
            engine_stage_sdk::progress(
                &format!("running `{}`", command.display),
                index as f32 / total as f32,
            );
            let result = run_one(command, timeout, config.output_tail_lines)?;
            if result.passed() {
                engine_stage_sdk::log::info(&format!(
                    "`{}` passed in {} ms",
                    result.display, result.duration_ms
                ));
            } else {
                engine_stage_sdk::log::warn(&result.failure_message(config.timeout.as_deref()));
                failures.push(result.clone());
            }
            results.push(result);
            if !failures.is_empty() && config.stop_on_failure {
                break;
            }
        }
        engine_stage_sdk::progress("done", 1.0);

        let commands_json: Vec<Value> = results.iter().map(CommandResult::summary_json).collect();
        if failures.is_empty() {
            let noun = if total == 1 { "command" } else { "commands" };
            return Ok(Success::new(format!("{total} {noun} passed"))
                .output("commands", Value::Array(commands_json)));
        }
        Err(failure(&failures, commands_json, config.timeout.as_deref()))
    }
}

fn invalid_config(message: String) -> StageError {
    StageError::fatal(format!("invalid gate config: {message}"))
}

fn run_one(
    command: &PreparedCommand,
    timeout: Option<std::time::Duration>,
    tail_lines: usize,
) -> Result<CommandResult, StageError> {
    let (program, args) = match command.argv.split_first() {
        Some(split) => split,
        None => return Err(invalid_config("empty command".to_string())),
    };
    let mut exec = Command::new(program.as_str())
        .args(args.iter().map(String::as_str))
        .cwd(WORKSPACE)
        .output_cap(OUTPUT_CAP);
    if let Some(timeout) = timeout {
        exec = exec.timeout(timeout);
    }
    match exec.run() {
        Ok(output) => Ok(CommandResult::new(&command.display, &output, tail_lines)),
        Err(error) => Err(exec_failure(program, &command.display, error)),
    }
}

fn exec_failure(program: &str, display: &str, error: ExecError) -> StageError {
    let message = match &error {
        ExecError::NotPermitted(why) => {
            format!("exec of `{program}` is not permitted: add it to permissions.exec ({why})")
        }
        ExecError::NotFound(why) => format!("exec of `{program}` failed: not found ({why})"),
        ExecError::InvalidCwd(why) => format!("exec of `{program}` failed: bad cwd ({why})"),
        ExecError::InvalidArgument(why) => {
            format!("exec of `{program}` failed: invalid argument ({why})")
        }
        ExecError::SpawnFailed(why) => format!("exec of `{program}` failed to start ({why})"),
    };
    StageError::fatal(message).with_detail(json!({
        "command": display,
        "program": program,
        "error": error.kind(),
        "reason": error.message(),
    }))
}

/// The stage error for the failed commands: fatal unless every failure is a timeout.
fn failure(failures: &[CommandResult], commands: Vec<Value>, timeout: Option<&str>) -> StageError {
    let first = &failures[0];
    let message = if failures.len() == 1 {
        first.failure_message(timeout)
    } else {
        let each: Vec<String> = failures
            .iter()
            .map(|f| f.failure_message(timeout))
            .collect();
        format!("{} commands failed: {}", failures.len(), each.join("; "))
    };
    let mut detail = first.failure_json();
    if let Value::Object(map) = &mut detail {
        map.insert("commands".into(), Value::Array(commands));
        if failures.len() > 1 {
            let all = failures.iter().map(CommandResult::failure_json).collect();
            map.insert("failures".into(), Value::Array(all));
        }
    }
    let error = if failures.iter().all(|f| f.timed_out) {
        StageError::retryable(message)
    } else {
        StageError::fatal(message)
    };
    error.with_detail(detail)
}

engine_stage_sdk::export_stage!(Gate);
