//! The gate's logic over a [`Runner`]: run each command, check failures against the base when
//! asked, and build the stage's success or failure.

use engine_stage_sdk::exec::ExecError;
use engine_stage_sdk::{RunGit, StageError, Success};
use serde_json::{Value, json};

use crate::baseline::{self, Verdict};
use crate::config::{GateConfig, PreparedCommand};
use crate::report::CommandResult;
use crate::runner::Runner;

/// Runs the gate: `attempt` (the attempt's idempotency key) names the baseline worktree.
pub fn run_gate<R: Runner + ?Sized>(
    runner: &R,
    config: &GateConfig,
    git: Option<&RunGit>,
    attempt: &str,
) -> Result<Success, StageError> {
    let commands = config.prepare().map_err(|m| invalid_config(&m))?;
    let total = commands.len();
    let mut results: Vec<CommandResult> = Vec::with_capacity(total);
    let mut failures: Vec<CommandResult> = Vec::new();
    let mut baseline_failures: Vec<Value> = Vec::new();

    for (index, command) in commands.iter().enumerate() {
        runner.progress(
            &format!("running `{}`", command.display),
            index as f32 / total as f32,
        );
        let mut result = run_one(runner, command, "", config.output_tail_lines)?;
        if result.passed() {
            runner.info(&format!(
                "`{}` passed in {} ms",
                result.display, result.duration_ms
            ));
        } else if config.baseline && !result.timed_out {
            let base =
                baseline::run_on_base(runner, git, attempt, command, config.output_tail_lines)?;
            match baseline::decide(&result, &base) {
                Verdict::AlreadyFailing => {
                    runner.warn(&format!(
                        "{} — already failing on the base commit ({}), not blocking",
                        result.failure_message(),
                        base.status_text()
                    ));
                    let mut entry = result.failure_json();
                    if let Value::Object(map) = &mut entry {
                        map.insert("base_exit_code".into(), json!(base.exit_code));
                        map.insert("base_failed_tests".into(), json!(base.failed_tests()));
                    }
                    baseline_failures.push(entry);
                }
                Verdict::Blocks { new_failures } => {
                    if !new_failures.is_empty() && !base.passed() {
                        result.new_failures = Some(new_failures);
                    }
                    runner.warn(&result.failure_message());
                    failures.push(result.clone());
                }
            }
        } else {
            runner.warn(&result.failure_message());
            failures.push(result.clone());
        }
        results.push(result);
        if !failures.is_empty() && config.stop_on_failure {
            break;
        }
    }
    runner.progress("done", 1.0);

    let commands_json: Vec<Value> = results.iter().map(CommandResult::summary_json).collect();
    if !failures.is_empty() {
        return Err(failure(&failures, commands_json, &baseline_failures));
    }
    let noun = if total == 1 { "command" } else { "commands" };
    let mut summary = format!("{total} {noun} passed");
    if !baseline_failures.is_empty() {
        summary = format!(
            "{} of {total} {noun} passed ({} already failing on base, not blocking)",
            total - baseline_failures.len(),
            baseline_failures.len()
        );
    }
    let mut success = Success::new(summary).output("commands", Value::Array(commands_json));
    if config.baseline {
        success = success.output("baseline_failures", Value::Array(baseline_failures));
    }
    Ok(success)
}

fn invalid_config(message: &str) -> StageError {
    StageError::fatal(format!("invalid gate config: {message}"))
}

/// Runs one command in `cwd` (relative to the worktree's root).
pub(crate) fn run_one<R: Runner + ?Sized>(
    runner: &R,
    command: &PreparedCommand,
    cwd: &str,
    tail_lines: usize,
) -> Result<CommandResult, StageError> {
    let program = command.argv.first().map(String::as_str).unwrap_or_default();
    match runner.run(&command.argv, cwd, command.timeout) {
        Ok(output) => Ok(CommandResult::new(command, &output, tail_lines)),
        Err(error) => Err(exec_failure(program, &command.display, &error)),
    }
}

fn exec_failure(program: &str, display: &str, error: &ExecError) -> StageError {
    let message = match error {
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
fn failure(failures: &[CommandResult], commands: Vec<Value>, baseline: &[Value]) -> StageError {
    let first = &failures[0];
    let message = if failures.len() == 1 {
        first.failure_message()
    } else {
        let each: Vec<String> = failures
            .iter()
            .map(CommandResult::failure_message)
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
        if !baseline.is_empty() {
            map.insert("baseline_failures".into(), Value::Array(baseline.to_vec()));
        }
    }
    let error = if failures.iter().all(|f| f.timed_out) {
        StageError::retryable(message)
    } else {
        StageError::fatal(message)
    };
    error.with_detail(detail)
}
