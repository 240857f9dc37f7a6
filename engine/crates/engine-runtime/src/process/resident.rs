//! Running one confined program in the attempt's resident sandbox
//! ([`engine_confine::Resident`]): the engine makes the output pipes and reads them as for any
//! child; the sandbox's server starts the program and answers once it, and everything it
//! started, has ended. A timeout, a cancelled call or any anomaly drops the resident, which
//! kills the whole sandbox; the attempt's next command then starts a fresh one.
//!
//! What the stage sees is what a per-command start gives: bubblewrap reports a program killed
//! by a signal as exit code 128 + signal, and so does this path; a timeout reports no exit
//! code and SIGKILL (the sandbox's end).

use std::sync::Arc;
use std::time::Instant;

use engine_confine::{Ended, Resident, ResidentCommand, Sandbox};

use super::{ProcessSpec, drain, pump};
use crate::attempt::AttemptObserver;
use crate::bindings::engine::stage::exec::{ExecError, Output};
use crate::pipe::TailPipe;

/// The signal that ends a sandbox (Linux's number).
const SIGKILL: i32 = 9;

/// Stops the output readers when dropped (a cancelled call).
struct Readers(Vec<tokio::task::AbortHandle>);

impl Drop for Readers {
    fn drop(&mut self) {
        for reader in &self.0 {
            reader.abort();
        }
    }
}

/// Runs `spec` in `resident` (taken from `sandbox`, given back after a clean answer).
pub(super) async fn run(
    spec: ProcessSpec,
    sandbox: &Sandbox,
    mut resident: Resident,
    observer: Option<Arc<dyn AttemptObserver>>,
) -> Result<Output, ExecError> {
    let name = &spec.display_name;
    let pipes =
        engine_confine::output_pipe().and_then(|out| Ok((out, engine_confine::output_pipe()?)));
    let ((stdout_read, stdout_write), (stderr_read, stderr_write)) = pipes.map_err(|e| {
        ExecError::SpawnFailed(format!("cannot make the output pipes of `{name}`: {e}"))
    })?;
    let started = Instant::now();
    let stdout = TailPipe::new(spec.output_cap);
    let stderr = TailPipe::new(spec.output_cap);
    let stdout_reader = tokio::spawn(pump(
        Some(stdout_read),
        stdout.clone(),
        observer.clone().map(|o| (o, "stdout")),
    ));
    let stderr_reader = tokio::spawn(pump(
        Some(stderr_read),
        stderr.clone(),
        observer.map(|o| (o, "stderr")),
    ));
    let readers = Readers(vec![
        stdout_reader.abort_handle(),
        stderr_reader.abort_handle(),
    ]);
    let command = ResidentCommand {
        program: &spec.program,
        args: &spec.args,
        env: &spec.env,
        cwd: &spec.cwd,
    };
    let answer = tokio::time::timeout(
        spec.timeout,
        resident.run(&command, stdout_write, stderr_write),
    )
    .await;
    let (exit_code, signal, timed_out) = match answer {
        Ok(Ok(Ended::Exited(code))) => {
            sandbox.keep_resident(resident);
            (Some(code), None, false)
        }
        Ok(Ok(Ended::Signaled(signal))) => {
            sandbox.keep_resident(resident);
            (Some(128 + signal), None, false)
        }
        Ok(Ok(Ended::NotStarted(e))) => {
            sandbox.keep_resident(resident);
            let kind = e.kind();
            let message = format!("cannot start `{name}`: {e}");
            return Err(if kind == std::io::ErrorKind::NotFound {
                ExecError::NotFound(message)
            } else {
                ExecError::SpawnFailed(message)
            });
        }
        Ok(Err(e)) => {
            // Hostile or broken: the whole sandbox goes, with whatever the command started.
            drop(resident);
            drain(stdout_reader, stderr_reader).await;
            return Err(ExecError::SpawnFailed(format!(
                "`{name}` was stopped with its sandbox: {e}"
            )));
        }
        Err(_elapsed) => {
            drop(resident);
            (None, Some(SIGKILL), true)
        }
    };
    // Every writer is gone (the server killed what the command left, or the sandbox is dead):
    // the readers reach end of file at once.
    drain(stdout_reader, stderr_reader).await;
    drop(readers);
    Ok(super::output(
        (exit_code, signal, timed_out),
        &stdout,
        &stderr,
        started,
    ))
}
