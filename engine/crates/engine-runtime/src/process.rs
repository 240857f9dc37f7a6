//! Running one child process for a stage: its own process group, stdin closed, output tails
//! read concurrently, a timeout that kills the whole group, and a guard that kills the group
//! when the attempt is dropped (which is how the driver cancels).

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine_confine::ProcessGroup;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::{AbortHandle, JoinHandle};

use crate::attempt::AttemptObserver;
use crate::bindings::engine::stage::exec::{ExecError, Output};
use crate::pipe::TailPipe;

mod resident;

/// How long output may keep flowing after the program exited (a background child that inherited
/// the pipes would otherwise hold the call until the timeout).
const PIPE_GRACE: Duration = Duration::from_millis(500);

/// A checked command, ready to start.
#[derive(Debug, Clone)]
pub(crate) struct ProcessSpec {
    /// The resolved executable.
    pub(crate) program: PathBuf,
    /// The name the stage used, for messages.
    pub(crate) display_name: String,
    /// Arguments.
    pub(crate) args: Vec<String>,
    /// Host working directory (inside the worktree).
    pub(crate) cwd: PathBuf,
    /// The complete environment.
    pub(crate) env: Vec<(String, String)>,
    /// Kill the group after this long.
    pub(crate) timeout: Duration,
    /// Bytes kept of stdout and of stderr.
    pub(crate) output_cap: usize,
}

/// Kills the child's process group (SIGKILL) and stops the output readers when dropped.
struct GroupGuard {
    group: Option<ProcessGroup>,
    readers: Vec<AbortHandle>,
}

impl GroupGuard {
    fn kill_group(&self) {
        if let Some(group) = self.group {
            group.kill();
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill_group();
        for reader in &self.readers {
            reader.abort();
        }
    }
}

/// Starts the program (confined when `confinement` is given: in the attempt's resident sandbox
/// when it has one, see [`resident`], else in a sandbox of its own) and waits for it (or its
/// timeout). `observer`, when given, sees the output as it arrives
/// ([`crate::AttemptObserver::exec_output`]).
pub(crate) async fn run(
    spec: ProcessSpec,
    confinement: Option<&engine_confine::Sandbox>,
    observer: Option<Arc<dyn AttemptObserver>>,
) -> Result<Output, ExecError> {
    if let Some(sandbox) = confinement
        && let Some(resident) = sandbox.take_resident().await
    {
        return resident::run(spec, sandbox, resident, observer).await;
    }
    let name = spec.display_name.clone();
    let (mut command, start_guard) = match confinement {
        Some(sandbox) => {
            let path = spec
                .env
                .iter()
                .rev()
                .find(|(k, _)| k == "PATH")
                .map(|(_, v)| v.as_str());
            let launch = engine_confine::Launch {
                purpose: engine_confine::Purpose::Exec,
                program: &spec.program,
                args: &spec.args,
                cwd: &spec.cwd,
                extra_writable: &[],
                extra_readable: &[],
            };
            let (command, guard) = sandbox.command(&launch, path).map_err(|e| {
                ExecError::SpawnFailed(format!("cannot start `{name}` confined: {e}"))
            })?;
            (command, Some(guard))
        }
        None => (tokio::process::Command::new(&spec.program), None),
    };
    if confinement.is_none() {
        command.args(&spec.args);
    }
    command
        .current_dir(&spec.cwd)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own group, killed with the engine: a resumed attempt never races an orphan of the
    // interrupted one in the same worktree.
    engine_confine::lead_new_group(&mut command);
    let started = Instant::now();
    let mut child = command.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ExecError::NotFound(format!("cannot start `{name}`: {e}")),
        _ => ExecError::SpawnFailed(format!("cannot start `{name}`: {e}")),
    })?;

    let stdout = TailPipe::new(spec.output_cap);
    let stderr = TailPipe::new(spec.output_cap);
    let stdout_reader = tokio::spawn(pump(
        child.stdout.take(),
        stdout.clone(),
        observer.clone().map(|o| (o, "stdout")),
    ));
    let stderr_reader = tokio::spawn(pump(
        child.stderr.take(),
        stderr.clone(),
        observer.map(|o| (o, "stderr")),
    ));
    let guard = GroupGuard {
        group: ProcessGroup::led_by(&child, start_guard.is_some()),
        readers: vec![stdout_reader.abort_handle(), stderr_reader.abort_handle()],
    };

    let (status, timed_out) = match tokio::time::timeout(spec.timeout, child.wait()).await {
        Ok(Ok(status)) => (Some(status), false),
        Ok(Err(e)) => {
            return Err(ExecError::SpawnFailed(format!(
                "waiting for `{name}` failed: {e}"
            )));
        }
        Err(_elapsed) => {
            guard.kill_group();
            (child.wait().await.ok(), true)
        }
    };
    drain(stdout_reader, stderr_reader).await;
    // Dropping the guard kills what is left of the group (background children) and stops the
    // readers; the start guard then clears the start's cgroup.
    drop(guard);
    drop(start_guard);

    let (exit_code, signal) = decode(status);
    let exit_code = if timed_out { None } else { exit_code };
    Ok(output(
        (exit_code, signal, timed_out),
        &stdout,
        &stderr,
        started,
    ))
}

/// What the stage is told about a program that ended (`exit_code`, `signal`, `timed_out`),
/// with the tails of its output, started at `started`.
pub(super) fn output(
    (exit_code, signal, timed_out): (Option<i32>, Option<i32>, bool),
    stdout: &TailPipe,
    stderr: &TailPipe,
    started: Instant,
) -> Output {
    Output {
        exit_code,
        signal,
        timed_out,
        stdout: stdout.tail_text(),
        stderr: stderr.tail_text(),
        stdout_bytes: stdout.total(),
        stderr_bytes: stderr.total(),
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

/// Lets the readers reach end of file, for at most [`PIPE_GRACE`].
pub(super) async fn drain(stdout: JoinHandle<()>, stderr: JoinHandle<()>) {
    let _ = tokio::time::timeout(PIPE_GRACE, async {
        let _ = stdout.await;
        let _ = stderr.await;
    })
    .await;
}

fn decode(status: Option<ExitStatus>) -> (Option<i32>, Option<i32>) {
    match status {
        Some(status) => (status.code(), status.signal()),
        None => (None, None),
    }
}

/// Reads a child's stream to its end into a tail buffer, showing each chunk to the observer
/// (with the stream's name) when there is one.
pub(super) async fn pump(
    reader: Option<impl AsyncRead + Unpin>,
    sink: TailPipe,
    observer: Option<(Arc<dyn AttemptObserver>, &'static str)>,
) {
    let Some(mut reader) = reader else {
        return;
    };
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        match reader.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                sink.push(&buffer[..n]);
                if let Some((observer, stream)) = &observer {
                    observer.exec_output(stream, &buffer[..n]);
                }
            }
        }
    }
}
