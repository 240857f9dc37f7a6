//! Starting the CLI: invocation files written first, its own process group, a scrubbed
//! environment, stdin null (or the invocation's bytes, then closed), and death with the engine.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin, Command};

use crate::supervise::SessionSpec;
use crate::supervise::error::SuperviseError;

/// Writes the invocation's files (relative paths are relative to the working directory).
pub(crate) fn write_files(spec: &SessionSpec) -> Result<(), SuperviseError> {
    for (path, contents) in &spec.invocation.files {
        let path = spec.cwd.join(path);
        let failed = |e: std::io::Error| SuperviseError::WriteFile {
            path: path.clone(),
            message: e.to_string(),
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(failed)?;
        }
        std::fs::write(&path, contents).map_err(failed)?;
    }
    Ok(())
}

/// Starts the program (under its confinement, when it has one) as the leader of a new process
/// group; the guard must live until the process has exited.
pub(crate) fn spawn(
    spec: &SessionSpec,
) -> Result<(Child, Option<engine_confine::StartGuard>), SuperviseError> {
    check_cwd(&spec.cwd)?;
    let invocation = &spec.invocation;
    let (mut command, guard) = if let Some(confinement) = &spec.confinement {
        let path = invocation
            .env
            .iter()
            .chain(spec.env.iter())
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.as_str());
        let launch = engine_confine::Launch {
            purpose: engine_confine::Purpose::Agent,
            program: Path::new(&invocation.program),
            args: &invocation.args,
            cwd: &spec.cwd,
            extra_writable: &confinement.extra_writable,
            extra_readable: &confinement.extra_readable,
        };
        let (command, guard) =
            confinement
                .sandbox
                .command(&launch, path)
                .map_err(|e| SuperviseError::Spawn {
                    program: invocation.program.clone(),
                    message: e.to_string(),
                })?;
        (command, Some(guard))
    } else {
        let mut command = Command::new(&invocation.program);
        command.args(&invocation.args);
        (command, None)
    };
    command
        .current_dir(&spec.cwd)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .envs(invocation.env.iter().map(|(k, v)| (k, v)))
        .stdin(if invocation.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    engine_confine::lead_new_group(&mut command);
    let child = command.spawn().map_err(|e| SuperviseError::Spawn {
        program: invocation.program.clone(),
        message: match e.kind() {
            ErrorKind::NotFound if !invocation.program.contains('/') => {
                "not found on PATH (is it installed?)".to_string()
            }
            ErrorKind::NotFound => "no such file".to_string(),
            ErrorKind::PermissionDenied => format!("not executable: {e}"),
            _ => e.to_string(),
        },
    })?;
    Ok((child, guard))
}

fn check_cwd(cwd: &Path) -> Result<(), SuperviseError> {
    let failed = |message: String| SuperviseError::Cwd {
        path: PathBuf::from(cwd),
        message,
    };
    match std::fs::metadata(cwd) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(failed("not a directory".into())),
        Err(e) => Err(failed(e.to_string())),
    }
}

/// Writes `bytes` to the child's stdin, then closes it. A child that exits without reading
/// simply breaks the pipe.
pub(crate) async fn feed_stdin(mut stdin: ChildStdin, bytes: Vec<u8>) {
    if let Err(e) = stdin.write_all(&bytes).await {
        tracing::debug!("agent stdin not fully written: {e}");
    }
    let _ = stdin.shutdown().await;
}
