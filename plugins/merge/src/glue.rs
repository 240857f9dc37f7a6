//! The real host: programs run through the SDK's `exec` import in the worktree. Thin on
//! purpose: everything worth testing is in the modules it serves.

use std::time::Duration;

use engine_stage_sdk::WORKSPACE;
use engine_stage_sdk::exec::Command;

use crate::runner::{Output, RunError, Runner};

/// Output kept per stream (git's answers here are small; conflicts lists can be long).
const OUTPUT_CAP: u64 = 1024 * 1024;

/// Time limit of one git or gh invocation.
const COMMAND_TIMEOUT: Duration = Duration::from_mins(10);

/// Runs programs through `exec`.
#[derive(Debug, Default)]
pub struct SdkRunner;

impl Runner for SdkRunner {
    fn run(
        &self,
        program: &str,
        args: &[String],
        env: &[(String, String)],
    ) -> Result<Output, RunError> {
        let mut command = Command::new(program)
            .args(args.iter().map(String::as_str))
            .cwd(WORKSPACE)
            .timeout(COMMAND_TIMEOUT)
            .output_cap(OUTPUT_CAP);
        for (key, value) in env {
            command = command.env(key.as_str(), value.as_str());
        }
        let out = command.run().map_err(|e| RunError {
            program: program.to_string(),
            reason: format!("{} (grant it under permissions.exec)", e.text()),
        })?;
        Ok(Output {
            code: if out.timed_out { None } else { out.exit_code },
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }

    fn sleep(&self, duration: Duration) -> Result<(), RunError> {
        let seconds = format!("{:.3}", duration.as_secs_f64());
        let out = self.run("sleep", &[seconds], &[])?;
        if out.success() {
            Ok(())
        } else {
            Err(RunError {
                program: "sleep".to_string(),
                reason: format!("{}: {}", out.status_text(), out.stderr.trim()),
            })
        }
    }

    fn info(&self, message: &str) {
        engine_stage_sdk::log::info(message);
    }

    fn warn(&self, message: &str) {
        engine_stage_sdk::log::warn(message);
    }
}
