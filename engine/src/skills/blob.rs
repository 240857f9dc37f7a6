//! Reading a file as committed: the constitution and skill files come from the run's base
//! commit, never from the worktree a stage can write.
//!
//! Only the repository's object store and refs are read (`git ls-tree`, `git cat-file` in the
//! user's checkout, with git's repository-selecting variables removed): nothing a stage could
//! have written is followed.

use std::path::Path;
use std::process::{Command, Stdio};

use super::SpecError;

/// Variables that would make git act on another repository.
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

/// Runs git in `root`; stdout on success.
pub(crate) fn git(root: &Path, args: &[&str]) -> Result<Vec<u8>, SpecError> {
    let mut command = Command::new("git");
    command
        .arg("-C")
        .arg(root)
        .args(["-c", "core.quotePath=false"])
        .args(args)
        .stdin(Stdio::null())
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C");
    for var in SCRUBBED_VARS {
        command.env_remove(var);
    }
    let output = command.output().map_err(|e| SpecError::Git {
        command: format!("git {}", args.join(" ")),
        message: e.to_string(),
    })?;
    if !output.status.success() {
        return Err(SpecError::Git {
            command: format!("git {}", args.join(" ")),
            message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(output.stdout)
}

/// The text of `path` at `commit`, `None` when the commit has no such file. A file over
/// `max_bytes`, something other than a regular file, or text that is not UTF-8 is an error
/// naming the path.
pub(crate) fn read_at(
    root: &Path,
    commit: &str,
    path: &str,
    max_bytes: u64,
) -> Result<Option<String>, SpecError> {
    if commit.starts_with('-') || path.starts_with('-') {
        return Err(SpecError::Git {
            command: "git ls-tree".to_string(),
            message: format!("refusing an option-like argument ({commit:?}, {path:?})"),
        });
    }
    let listing = git(root, &["ls-tree", "-l", "-z", commit, "--", path])?;
    let Some(entry) = listing
        .split(|b| *b == 0)
        .find(|e| !e.is_empty())
        .map(|e| String::from_utf8_lossy(e).into_owned())
    else {
        return Ok(None);
    };
    // `<mode> SP <type> SP <object> SP+ <size> TAB <path>`
    let (meta, listed_path) = entry.split_once('\t').unwrap_or((entry.as_str(), ""));
    if listed_path != path {
        return Ok(None);
    }
    let fields: Vec<&str> = meta.split_whitespace().collect();
    let [mode, kind, object, size] = fields.as_slice() else {
        return Err(SpecError::Git {
            command: "git ls-tree".to_string(),
            message: format!("unexpected output {entry:?}"),
        });
    };
    if *kind != "blob" || !(mode.starts_with("100")) {
        return Err(SpecError::NotAFile {
            path: path.to_string(),
        });
    }
    let size: u64 = size.parse().unwrap_or(u64::MAX);
    if size > max_bytes {
        return Err(SpecError::TooLarge {
            path: path.to_string(),
            size,
            max: max_bytes,
        });
    }
    let bytes = git(root, &["cat-file", "blob", object])?;
    let text = String::from_utf8(bytes).map_err(|e| SpecError::NotUtf8 {
        path: path.to_string(),
        offset: e.utf8_error().valid_up_to(),
    })?;
    Ok(Some(
        text.strip_prefix('\u{feff}').unwrap_or(&text).to_string(),
    ))
}

/// The files `branch` changed since `base` (`git diff --name-only base...branch`), relative to
/// the repository root.
pub(crate) fn changed_files(
    root: &Path,
    base: &str,
    branch: &str,
) -> Result<Vec<String>, SpecError> {
    let range = format!("{base}...refs/heads/{branch}");
    let out = git(
        root,
        &["diff", "--name-only", "--no-renames", "-z", &range, "--"],
    )?;
    Ok(out
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect())
}
