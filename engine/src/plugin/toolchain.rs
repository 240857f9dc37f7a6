//! The pinned toolchains `engine plugin build` uses (componentize-py, jco/componentize-js):
//! where they live, installing each once (safely when two builds start together), and running
//! a tool so its failure shows the user its last lines of output.
//!
//! Each tool version gets its own directory under the tools directory
//! (`$ENGINE_TOOLS_DIR`, default `~/.cache/engine/tools`): `<tools>/componentize-py-0.25.1/`.
//! An install is made in a temporary sibling directory and renamed into place only when it
//! finished, so a kill -9 during an install leaves no half-installed tool behind; an exclusive
//! lock on `<tools>/.install.lock` keeps two processes from installing at once.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::build::BuildError;

/// How many lines of a failing tool's output are shown.
const OUTPUT_TAIL_LINES: usize = 40;

/// The tools directory: `$ENGINE_TOOLS_DIR`, else `$XDG_CACHE_HOME/engine/tools`, else
/// `~/.cache/engine/tools`.
pub fn tools_dir() -> Result<PathBuf, BuildError> {
    if let Some(dir) = std::env::var_os("ENGINE_TOOLS_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    if let Some(cache) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(cache).join("engine/tools"));
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".cache/engine/tools")),
        None => Err(BuildError::Project(
            "cannot tell where to install plugin toolchains: set ENGINE_TOOLS_DIR (or HOME)".into(),
        )),
    }
}

/// The directory of `tool` (e.g. `componentize-py-0.25.1`) under `tools_dir`, installing it
/// first when it is missing: `install` fills a fresh temporary directory, which then becomes
/// the tool's directory. `label` names the tool in messages (`componentize-py 0.25.1`).
pub fn install_once(
    tools_dir: &Path,
    tool: &str,
    label: &str,
    install: impl FnOnce(&Path) -> Result<(), BuildError>,
) -> Result<PathBuf, BuildError> {
    let target = tools_dir.join(tool);
    if target.is_dir() {
        return Ok(target);
    }
    std::fs::create_dir_all(tools_dir).map_err(|source| io(tools_dir, source))?;
    let lock_path = tools_dir.join(".install.lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|source| io(&lock_path, source))?;
    lock.lock().map_err(|source| io(&lock_path, source))?;
    // Another process may have installed it while this one waited for the lock.
    if target.is_dir() {
        return Ok(target);
    }
    let staging = tools_dir.join(format!(".{tool}.installing"));
    if staging.exists() {
        // Left by an install that was killed: start again.
        std::fs::remove_dir_all(&staging).map_err(|source| io(&staging, source))?;
    }
    std::fs::create_dir_all(&staging).map_err(|source| io(&staging, source))?;
    progress(&format!(
        "installing {label} into {} (first use)...",
        target.display()
    ));
    if let Err(e) = install(&staging) {
        // Best effort: the next attempt removes it anyway.
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    std::fs::rename(&staging, &target).map_err(|source| io(&target, source))?;
    Ok(target)
}

/// Runs `command` with its output captured; on failure the error carries the last lines of
/// what it printed. Returns its stdout and stderr, joined.
pub fn run_tool(command: &mut Command, tool: &str) -> Result<String, BuildError> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| BuildError::ToolFailed {
            tool: tool.to_string(),
            status: format!(
                "could not start {}",
                command.get_program().to_string_lossy()
            ),
            output: e.to_string(),
        })?;
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    if output.status.success() {
        return Ok(text);
    }
    Err(BuildError::ToolFailed {
        tool: tool.to_string(),
        status: output.status.to_string(),
        output: tail(&text, OUTPUT_TAIL_LINES),
    })
}

/// Prints one progress line to stderr (before a step that may take more than a second).
pub fn progress(line: &str) {
    eprintln!("{}", crate::terminal::safe(line));
}

/// The last `lines` lines of `text`.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    all[start..].join("\n")
}

fn io(path: &Path, source: std::io::Error) -> BuildError {
    BuildError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_install_happens_once_and_only_a_finished_one_counts() {
        let dir = tempfile::tempdir().unwrap();
        let failed = install_once(dir.path(), "tool-1", "tool 1", |staging| {
            std::fs::write(staging.join("half"), "x").unwrap();
            Err(BuildError::Project("network down".into()))
        });
        assert!(failed.is_err());
        assert!(!dir.path().join("tool-1").exists());
        assert!(!dir.path().join(".tool-1.installing").exists());
        let mut calls = 0;
        for _ in 0..2 {
            let got = install_once(dir.path(), "tool-1", "tool 1", |staging| {
                calls += 1;
                std::fs::write(staging.join("bin"), "x").map_err(|e| io(staging, e))
            })
            .unwrap();
            assert!(got.join("bin").is_file());
        }
        assert_eq!(calls, 1);
    }

    #[test]
    fn a_killed_install_is_started_again() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".tool-2.installing/junk")).unwrap();
        let got = install_once(dir.path(), "tool-2", "tool 2", |staging| {
            assert!(!staging.join("junk").exists());
            Ok(())
        })
        .unwrap();
        assert!(got.is_dir());
    }

    #[test]
    fn a_failing_tool_shows_its_last_lines() {
        let err = run_tool(
            Command::new("sh").args(["-c", "for i in $(seq 1 100); do echo line$i; done; exit 3"]),
            "sh",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("line100") && err.contains("line61"), "{err}");
        assert!(!err.contains("line60\n"), "{err}");
        assert!(err.contains("exit status: 3"), "{err}");
    }
}
