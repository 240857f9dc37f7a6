//! Read-only sessions for agent CLIs that cannot keep themselves read-only.
//!
//! [`engine_agent::PermissionMode::Plan`] means read-only for every backend. A backend whose CLI
//! has a real read-only mechanism says so ([`engine_agent::Backend::enforces_read_only`]); any
//! other backend's Plan session runs in a **throw-away copy** of the run's worktree, discarded
//! when the session ends, so whatever the agent changes there never reaches the run's worktree.
//!
//! The copy holds the worktree's files as they are (tracked and untracked files, minus ignored
//! ones: the worktree's snapshot tree) checked out by git, and its own `.git` whose HEAD is the
//! worktree's HEAD (detached) and whose objects are the repository's (through `alternates`), so
//! `git log` and `git diff BASE...HEAD` work there as in the worktree. New objects and refs the
//! agent makes stay in the copy's own `.git`.
//!
//! Copies live in `<state>/runs/<run>/readonly/<instance>/`, `<instance>` naming the engine
//! process that made them. The state directory is locked by one process at a time, so a copy of
//! another instance is a leftover of a process that died (kill -9): [`sweep_leftovers`] removes
//! them the first time this process makes a copy.
//!
//! Removal never follows a symbolic link (an agent may leave links to anywhere in its copy):
//! [`std::fs::remove_dir_all`] unlinks links, and directories an agent made unreadable are
//! opened with `O_NOFOLLOW` before their mode is restored.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use engine_git::Repo;

/// Name of the directory, under a run's directory, holding the copies.
pub const READONLY_DIR: &str = "readonly";

/// Inherited variables that would make git act on another repository, index or work tree.
const GIT_VARS: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
    "GIT_CEILING_DIRECTORIES",
];

/// Why a read-only copy could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReadOnlyCopyError {
    /// A file operation failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A git command failed.
    #[error("git {command} failed: {detail}")]
    Git {
        /// The command's arguments.
        command: String,
        /// Its stderr or the spawn error.
        detail: String,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ReadOnlyCopyError {
    let path = path.to_path_buf();
    move |source| ReadOnlyCopyError::Io {
        action,
        path,
        source,
    }
}

/// This engine process's name for its copies: its pid and the time it first made one.
pub fn instance() -> &'static str {
    static INSTANCE: OnceLock<String> = OnceLock::new();
    INSTANCE.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        format!("{}-{nanos:x}", std::process::id())
    })
}

/// A throw-away copy of a worktree; removed when dropped (or by [`ReadOnlyCopy::remove`]).
#[derive(Debug)]
pub struct ReadOnlyCopy {
    dir: PathBuf,
    removed: bool,
}

impl ReadOnlyCopy {
    /// Makes `<run_dir>/readonly/<instance>/<name>`: the files of snapshot tree `tree` of the
    /// worktree of `repo`, with HEAD at `head`. Leftovers of dead engine processes under
    /// `run_dir`'s parent (`<state>/runs`) are removed first, once per process.
    pub fn create(
        repo: &Repo,
        run_dir: &Path,
        name: &str,
        head: &str,
        tree: &str,
    ) -> Result<ReadOnlyCopy, ReadOnlyCopyError> {
        static SWEPT: OnceLock<()> = OnceLock::new();
        if let Some(runs) = run_dir.parent() {
            SWEPT.get_or_init(|| sweep_leftovers(runs));
        }
        let parent = run_dir.join(READONLY_DIR).join(instance());
        std::fs::create_dir_all(&parent).map_err(io("creating", &parent))?;
        let dir = parent.join(name);
        if std::fs::symlink_metadata(&dir).is_ok() {
            remove_tree(&dir).map_err(io("removing", &dir))?;
        }
        std::fs::create_dir(&dir).map_err(io("creating", &dir))?;
        // From here on, a failure removes what was made.
        let copy = ReadOnlyCopy {
            dir,
            removed: false,
        };
        copy.fill(repo, head, tree)?;
        Ok(copy)
    }

    fn fill(&self, repo: &Repo, head: &str, tree: &str) -> Result<(), ReadOnlyCopyError> {
        let dir = &self.dir;
        let objects = repo
            .git_common_dir()
            .map_err(|e| ReadOnlyCopyError::Git {
                command: "rev-parse --git-common-dir".into(),
                detail: e.to_string(),
            })?
            .join("objects");
        git(dir, &["init", "--quiet", "--template="])?;
        let info = dir.join(".git").join("objects").join("info");
        std::fs::create_dir_all(&info).map_err(io("creating", &info))?;
        let alternates = info.join("alternates");
        let line = format!("{}\n", objects.display());
        std::fs::write(&alternates, line).map_err(io("writing", &alternates))?;
        let head_file = dir.join(".git").join("HEAD");
        std::fs::write(&head_file, format!("{head}\n")).map_err(io("writing", &head_file))?;
        git(dir, &["read-tree", tree])?;
        git(dir, &["checkout-index", "--all", "--quiet"])?;
        // The index as in the worktree: HEAD's, the rest shows as changes.
        git(dir, &["read-tree", "HEAD"])?;
        Ok(())
    }

    /// The copy's directory (the session's working directory).
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Removes the copy now.
    pub fn remove(mut self) -> Result<(), ReadOnlyCopyError> {
        self.removed = true;
        remove_tree(&self.dir).map_err(io("removing", &self.dir))
    }
}

impl Drop for ReadOnlyCopy {
    fn drop(&mut self) {
        if !self.removed
            && let Err(e) = remove_tree(&self.dir)
        {
            tracing::warn!(
                "could not remove the read-only copy {}: {e}",
                self.dir.display()
            );
        }
    }
}

/// The copy a read-only session `n` of `site`'s attempt runs in, made from the worktree's
/// snapshot tree `before` (taken when the session starts). Without a snapshot there is no copy
/// and the session does not start: it would otherwise run in the run's worktree.
pub fn for_session(
    site: &super::LaunchSite,
    n: u32,
    before: Option<&str>,
) -> Result<ReadOnlyCopy, engine_runtime::AgentStartError> {
    let fail = |why: String| {
        engine_runtime::AgentStartError::SpawnFailed(format!(
            "cannot make the throw-away copy of the worktree this read-only session needs \
             (its CLI cannot keep itself read-only): {why}"
        ))
    };
    let tree = before.ok_or_else(|| fail("the worktree could not be snapshotted".into()))?;
    let head = site
        .repo
        .head_of(&site.worktree)
        .map_err(|e| fail(e.to_string()))?;
    let name = format!("{}.{}.{n}", site.stage_id, site.attempt);
    ReadOnlyCopy::create(&site.repo, &site.run_dir, &name, &head, tree)
        .map_err(|e| fail(e.to_string()))
}

/// Removes every copy under `runs` (`<state>/runs`) not made by this process: leftovers of an
/// engine process that died before it could remove them. Problems are logged, not returned.
pub fn sweep_leftovers(runs: &Path) {
    let Ok(run_dirs) = std::fs::read_dir(runs) else {
        return;
    };
    for run in run_dirs.flatten() {
        let readonly = run.path().join(READONLY_DIR);
        let Ok(entries) = std::fs::read_dir(&readonly) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_name() == OsStr::new(instance()) {
                continue;
            }
            let path = entry.path();
            if let Err(e) = remove_tree(&path) {
                tracing::warn!("could not remove leftover copy {}: {e}", path.display());
            }
        }
    }
}

/// Removes `path` and everything below it without following any symbolic link (a link is
/// removed, never what it points to). Directories whose permissions forbid the removal are
/// made writable first (opened with `O_NOFOLLOW`, so a link is never changed through).
fn remove_tree(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(first) => {
            make_writable(path);
            match std::fs::remove_dir_all(path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(_) => Err(first),
            }
        }
    }
}

fn make_writable(dir: &Path) {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    // `O_PATH | O_NOFOLLOW | O_DIRECTORY` opens the directory itself, even an unreadable one,
    // and fails on a link; its mode is then changed through the descriptor.
    let Ok(file) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_NOFOLLOW | libc::O_DIRECTORY)
        .open(dir)
    else {
        return;
    };
    let through_fd = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
    let _ = std::fs::set_permissions(&through_fd, std::fs::Permissions::from_mode(0o700));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            make_writable(&entry.path());
        }
    }
}

fn git(dir: &Path, args: &[&str]) -> Result<(), ReadOnlyCopyError> {
    let mut command = Command::new("git");
    command.arg("-C").arg(dir).args(args);
    for var in GIT_VARS {
        command.env_remove(var);
    }
    let output = command.output().map_err(|e| ReadOnlyCopyError::Git {
        command: args.join(" "),
        detail: e.to_string(),
    })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(ReadOnlyCopyError::Git {
            command: args.join(" "),
            detail: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }
}

#[cfg(test)]
#[path = "readonly_copy_tests.rs"]
mod tests;
