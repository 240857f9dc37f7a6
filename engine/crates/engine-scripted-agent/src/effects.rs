//! Real effects of scripted steps: file writes, appends, deletes and shell commands, in the
//! agent's working directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A path from the script, resolved against the working directory (absolute paths stay).
pub fn resolve(cwd: &Path, path: &str) -> PathBuf {
    cwd.join(path)
}

/// A file effect that failed; the message is what the agent's tool result shows.
#[derive(Debug, thiserror::Error)]
pub enum EffectError {
    /// The file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file could not be appended to.
    #[error("cannot append to {}: {source}", path.display())]
    Append {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file could not be removed.
    #[error("rm: cannot remove {}: {source}", path.display())]
    Remove {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The parent directory of a file could not be created.
    #[error("cannot create {}: {source}", path.display())]
    CreateParent {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Creates or overwrites a file (and its parent directories).
pub fn write_file(path: &Path, content: &str) -> Result<(), EffectError> {
    create_parent(path)?;
    std::fs::write(path, content).map_err(|source| EffectError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Appends to a file, creating it (and its parent directories) if needed.
pub fn append_file(path: &Path, content: &str) -> Result<(), EffectError> {
    create_parent(path)?;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(content.as_bytes()))
        .map_err(|source| EffectError::Append {
            path: path.to_path_buf(),
            source,
        })
}

/// Deletes a file.
pub fn delete_file(path: &Path) -> Result<(), EffectError> {
    std::fs::remove_file(path).map_err(|source| EffectError::Remove {
        path: path.to_path_buf(),
        source,
    })
}

fn create_parent(path: &Path) -> Result<(), EffectError> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => {
            std::fs::create_dir_all(parent).map_err(|source| EffectError::CreateParent {
                path: parent.to_path_buf(),
                source,
            })
        }
        _ => Ok(()),
    }
}

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutcome {
    /// Its stdout followed by its stderr.
    pub output: String,
    /// Its exit code (128 + signal when killed by a signal, 127 when it could not start).
    pub exit_code: i32,
}

/// Runs `sh -c COMMAND` in `cwd` with stdin closed.
pub fn run_command(cwd: &Path, command: &str) -> CommandOutcome {
    let result = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output();
    match result {
        Ok(output) => {
            let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&output.stderr));
            CommandOutcome {
                output: text,
                exit_code: exit_code(output.status),
            }
        }
        Err(err) => CommandOutcome {
            output: format!("cannot run sh: {err}"),
            exit_code: 127,
        },
    }
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_effects_really_happen() {
        let temp = tempfile::tempdir().unwrap();
        let path = resolve(temp.path(), "sub/dir/a.txt");
        write_file(&path, "one\n").unwrap();
        append_file(&path, "two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\ntwo\n");
        delete_file(&path).unwrap();
        assert!(!path.exists());
        let err = delete_file(&path).unwrap_err().to_string();
        assert!(err.starts_with("rm: cannot remove "), "{err}");
        assert!(err.contains("a.txt"), "{err}");
    }

    #[test]
    fn commands_report_output_and_exit_code() {
        let temp = tempfile::tempdir().unwrap();
        let outcome = run_command(temp.path(), "pwd; echo oops >&2; exit 3");
        assert_eq!(outcome.exit_code, 3);
        let cwd = temp.path().canonicalize().unwrap();
        assert!(
            outcome.output.starts_with(&format!("{}\n", cwd.display())),
            "{}",
            outcome.output
        );
        assert!(outcome.output.ends_with("oops\n"), "{}", outcome.output);
    }
}
