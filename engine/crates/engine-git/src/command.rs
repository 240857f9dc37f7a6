//! Running `git` with a controlled environment.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

use crate::GitError;

/// Inherited variables that would make git act on another repository, index or work tree.
const SCRUBBED_VARS: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
];

/// What a finished git command produced.
#[derive(Debug)]
pub(crate) struct GitOutput {
    /// The command line, for error messages.
    pub command: String,
    /// How it exited.
    pub status: ExitStatus,
    /// Raw stdout.
    pub stdout: Vec<u8>,
    /// Stderr, lossily decoded and trimmed.
    pub stderr: String,
}

impl GitOutput {
    /// The exit code (None when killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// The stdout as UTF-8 text, requiring a successful exit.
    pub fn success_text(self) -> Result<String, GitError> {
        let output = self.success()?;
        output.text()
    }

    /// Requires a successful exit.
    pub fn success(self) -> Result<GitOutput, GitError> {
        if self.status.success() {
            Ok(self)
        } else {
            Err(self.into_failure())
        }
    }

    /// The stdout as UTF-8 text, whatever the exit status.
    pub fn text(self) -> Result<String, GitError> {
        String::from_utf8(self.stdout).map_err(|_| GitError::UnexpectedOutput {
            command: self.command,
            detail: "output is not UTF-8".to_string(),
        })
    }

    /// The error describing this (failed) command.
    pub fn into_failure(self) -> GitError {
        GitError::Failed {
            command: self.command,
            status: self.status.to_string(),
            stderr: self.stderr,
        }
    }
}

/// Runs `git <args>` in `cwd` and waits for it; fails only if git could not be started.
pub(crate) fn run_git<S: AsRef<OsStr>>(cwd: &Path, args: &[S]) -> Result<GitOutput, GitError> {
    let command_line = describe(args);
    let output = git_command(cwd, args)
        .output()
        .map_err(|source| GitError::Spawn {
            command: command_line.clone(),
            source,
        })?;
    Ok(GitOutput {
        command: command_line,
        status: output.status,
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
    })
}

/// Like [`run_git`], with extra environment variables set after the scrubbing (e.g. a private
/// `GIT_INDEX_FILE`).
pub(crate) fn run_git_with_env<S: AsRef<OsStr>>(
    cwd: &Path,
    args: &[S],
    env: &[(&str, &OsStr)],
) -> Result<GitOutput, GitError> {
    let command_line = describe(args);
    let mut command = git_command(cwd, args);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().map_err(|source| GitError::Spawn {
        command: command_line.clone(),
        source,
    })?;
    Ok(GitOutput {
        command: command_line,
        status: output.status,
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
    })
}

/// The `git <args>` command with the controlled environment, not yet started.
fn git_command<S: AsRef<OsStr>>(cwd: &Path, args: &[S]) -> Command {
    let mut command = Command::new("git");
    command
        .arg("--no-pager")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_PAGER", "cat")
        .env("PAGER", "cat")
        .env("LC_ALL", "C")
        .env("LANGUAGE", "C")
        // Never rewrite an index just to refresh stat information (e.g. during `status`).
        .env("GIT_OPTIONAL_LOCKS", "0");
    for var in SCRUBBED_VARS {
        command.env_remove(var);
    }
    command
}

/// `git a b c`, for messages.
fn describe<S: AsRef<OsStr>>(args: &[S]) -> String {
    let mut line = String::from("git");
    for arg in args {
        line.push(' ');
        line.push_str(&arg.as_ref().to_string_lossy());
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_carries_command_and_stderr() {
        let dir = tempfile::tempdir().unwrap();
        let err = run_git(dir.path(), &["rev-parse", "--show-toplevel"])
            .unwrap()
            .success()
            .unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("git rev-parse --show-toplevel"),
            "{message}"
        );
        assert!(message.contains("not a git repository"), "{message}");
    }

    #[test]
    fn environment_is_controlled() {
        let command = git_command(Path::new("/"), &["status"]);
        let envs: Vec<(String, Option<String>)> = command
            .get_envs()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.map(|v| v.to_string_lossy().into_owned()),
                )
            })
            .collect();
        for removed in ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"] {
            assert!(envs.contains(&(removed.to_string(), None)), "{removed}");
        }
        for (key, value) in [
            ("GIT_TERMINAL_PROMPT", "0"),
            ("LC_ALL", "C"),
            ("GIT_PAGER", "cat"),
            ("GIT_OPTIONAL_LOCKS", "0"),
        ] {
            assert!(
                envs.contains(&(key.to_string(), Some(value.to_string()))),
                "{key}"
            );
        }
        let args: Vec<_> = command.get_args().collect();
        assert_eq!(args, ["--no-pager", "status"]);
    }
}
