//! What the gate needs from the host, as a trait: the component runs programs through the
//! SDK's `exec` ([`SdkRunner`]); host-side tests run real programs or script them.

use std::time::Duration;

use engine_stage_sdk::WORKSPACE;
use engine_stage_sdk::exec::{Command, ExecError, Output};

/// Bytes of stdout and of stderr kept per command (the host caps it at 1 MiB).
pub const OUTPUT_CAP: u64 = 256 * 1024;

/// Runs programs on the host and reports progress.
pub trait Runner {
    /// Runs `argv` in `cwd`, a directory relative to the worktree's root (`""` is the root).
    fn run(
        &self,
        argv: &[String],
        cwd: &str,
        timeout: Option<Duration>,
    ) -> Result<Output, ExecError>;

    /// Writes an informational line to the run's log.
    fn info(&self, message: &str);

    /// Writes a warning to the run's log.
    fn warn(&self, message: &str);

    /// Reports progress (0.0 to 1.0).
    fn progress(&self, message: &str, fraction: f32);
}

/// Runs programs through the SDK's `exec`, below `/workspace`.
#[derive(Debug, Default)]
pub struct SdkRunner;

impl Runner for SdkRunner {
    fn run(
        &self,
        argv: &[String],
        cwd: &str,
        timeout: Option<Duration>,
    ) -> Result<Output, ExecError> {
        let Some((program, args)) = argv.split_first() else {
            return Err(ExecError::InvalidArgument("empty command".to_string()));
        };
        let cwd = if cwd.is_empty() {
            WORKSPACE.to_string()
        } else {
            format!("{WORKSPACE}/{cwd}")
        };
        let mut command = Command::new(program.as_str())
            .args(args.iter().map(String::as_str))
            .cwd(cwd)
            .output_cap(OUTPUT_CAP);
        if let Some(timeout) = timeout {
            command = command.timeout(timeout);
        }
        command.run()
    }

    fn info(&self, message: &str) {
        engine_stage_sdk::log::info(message);
    }

    fn warn(&self, message: &str) {
        engine_stage_sdk::log::warn(message);
    }

    fn progress(&self, message: &str, fraction: f32) {
        engine_stage_sdk::progress(message, fraction);
    }
}
