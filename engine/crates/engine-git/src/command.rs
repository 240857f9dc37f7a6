//! Running `git` with a controlled environment, pinned to the right repository.
//!
//! A run's linked worktree holds a `.git` file naming its administrative directory
//! (`<common dir>/worktrees/<id>`), and a stage with write access to the worktree can rewrite
//! that file to point anywhere (the user's own `.git`, another repository). Host git must never
//! follow it: every repository found by [`register_common_dir`] (each [`crate::Repo`] registers
//! its own) is remembered, and a git command whose working directory is in one of their linked
//! worktrees gets `GIT_DIR=<admin dir>` and `GIT_WORK_TREE=<worktree>`, found from the
//! repository's side (`<common dir>/worktrees/*/gitdir`, which names the worktree), never from
//! the worktree's `.git` file. A worktree once pinned whose admin directory has gone is refused
//! rather than left to git's discovery (which would find the `.git` file, or the repository of
//! a parent directory).

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{LazyLock, Mutex, MutexGuard};

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

thread_local! {
    /// git processes started by this thread (tests count them: in-process reads start none).
    static STARTS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many git processes this thread has started so far.
#[cfg(test)]
pub(crate) fn starts_on_this_thread() -> u64 {
    STARTS.with(std::cell::Cell::get)
}

/// Runs `git <args>` in `cwd` and waits for it; fails only if git could not be started (or
/// `cwd` is a run worktree whose repository metadata is gone: see [`pin_for`]).
pub(crate) fn run_git<S: AsRef<OsStr>>(cwd: &Path, args: &[S]) -> Result<GitOutput, GitError> {
    run_git_with_env(cwd, args, &[])
}

/// Like [`run_git`], with extra environment variables set after the scrubbing (e.g. a private
/// `GIT_INDEX_FILE`). Each command is logged at debug level with how long it took
/// (`RUST_LOG=engine_git=debug`).
pub(crate) fn run_git_with_env<S: AsRef<OsStr>>(
    cwd: &Path,
    args: &[S],
    env: &[(&str, &OsStr)],
) -> Result<GitOutput, GitError> {
    let command_line = describe(args);
    let mut command = pinned_command(cwd, args)?;
    for (key, value) in env {
        command.env(key, value);
    }
    let began = std::time::Instant::now();
    let output = command.output().map_err(|source| GitError::Spawn {
        command: command_line.clone(),
        source,
    })?;
    tracing::debug!(
        command = ?command_line,
        ms = format_args!("{:.1}", began.elapsed().as_secs_f64() * 1000.0),
        status = output.status.code(),
        "git ran"
    );
    Ok(GitOutput {
        command: command_line,
        status: output.status,
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
    })
}

/// [`git_command`], with `GIT_DIR`/`GIT_WORK_TREE` set when `cwd` is in a linked worktree of a
/// registered repository.
fn pinned_command<S: AsRef<OsStr>>(cwd: &Path, args: &[S]) -> Result<Command, GitError> {
    STARTS.with(|starts| starts.set(starts.get() + 1));
    let mut command = git_command(cwd, args);
    if let Some(pin) = pin_for(cwd)? {
        command
            .env("GIT_DIR", &pin.git_dir)
            .env("GIT_WORK_TREE", &pin.work_tree);
    }
    Ok(command)
}

/// The `git` program: the first `git` that is an executable file in an absolute directory of
/// `PATH`, looked up once per process (a start by name tries each `PATH` directory in turn, a
/// failed `execve` each, about 0.2 ms a git command here). Relative `PATH` entries are skipped:
/// they would be taken from the worktree a command runs in. When there is none, `git` by name
/// (the start then fails as it always did).
pub(crate) fn git_program() -> &'static OsStr {
    static PROGRAM: std::sync::OnceLock<std::ffi::OsString> = std::sync::OnceLock::new();
    PROGRAM.get_or_init(|| {
        std::env::var_os("PATH")
            .and_then(|path| find_in_path(&path, "git"))
            .map_or_else(|| "git".into(), PathBuf::into_os_string)
    })
}

/// The first executable file `name` in the absolute directories of `path` (a `PATH` value).
fn find_in_path(path: &OsStr, name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|file| {
            std::fs::metadata(file)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// The `git <args>` command with the controlled environment, not yet started.
fn git_command<S: AsRef<OsStr>>(cwd: &Path, args: &[S]) -> Command {
    let mut command = Command::new(git_program());
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

/// Where git must look for a linked worktree: its admin directory and its top level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pin {
    /// `<common dir>/worktrees/<id>` (canonical).
    pub git_dir: PathBuf,
    /// The worktree's top level (canonical).
    pub work_tree: PathBuf,
}

/// What the process knows about repositories and their linked worktrees.
#[derive(Default)]
struct Registry {
    /// Common git directories of every repository a `Repo` was opened on (canonical).
    common_dirs: Vec<PathBuf>,
    /// Linked worktree (canonical) -> its admin directory (canonical), as last scanned.
    admin_dirs: HashMap<PathBuf, PathBuf>,
    /// Every worktree ever pinned: one whose admin directory disappears is refused.
    pinned: HashSet<PathBuf>,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(Mutex::default);

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Remembers `common_dir` (a repository's `.git`): git commands run in its linked worktrees
/// are pinned to their admin directories from now on.
pub(crate) fn register_common_dir(common_dir: &Path) {
    let Ok(dir) = common_dir.canonicalize() else {
        return;
    };
    let mut registry = registry();
    if !registry.common_dirs.contains(&dir) {
        registry.common_dirs.push(dir);
    }
}

/// The pin for a git command run in `cwd`: when `cwd` is (in) a linked worktree of a registered
/// repository, its admin directory and top level; `None` for anything else (a main worktree, a
/// directory of no registered repository), which git then discovers as usual.
///
/// Fails when `cwd` is in a worktree pinned before whose admin directory is gone: following its
/// `.git` file (or discovering a parent repository) is what pinning exists to prevent.
pub(crate) fn pin_for(cwd: &Path) -> Result<Option<Pin>, GitError> {
    let Ok(cwd) = cwd.canonicalize() else {
        return Ok(None);
    };
    let mut registry = registry();
    let mut pin = registry.cached_pin(&cwd);
    if pin.is_none() {
        registry.rescan();
        pin = registry.cached_pin(&cwd);
    }
    if let Some(pin) = pin {
        if !registry.pinned.contains(&pin.work_tree) {
            registry.pinned.insert(pin.work_tree.clone());
        }
        return Ok(Some(pin));
    }
    if let Some(lost) = cwd.ancestors().find(|a| registry.pinned.contains(*a)) {
        return Err(GitError::WorktreeConflict {
            path: lost.to_path_buf(),
            detail: "its git metadata (the repository's worktrees/<id> directory) is gone; \
                     refusing to let git follow the worktree's .git file"
                .to_string(),
        });
    }
    Ok(None)
}

/// The admin directory of the linked worktree whose top level is exactly `worktree`, found
/// from the repository's side; `None` when it is not a linked worktree of a registered
/// repository.
pub(crate) fn admin_dir_of(worktree: &Path) -> Result<Option<PathBuf>, GitError> {
    let Ok(top) = worktree.canonicalize() else {
        return Ok(None);
    };
    Ok(pin_for(&top)?
        .filter(|pin| pin.work_tree == top)
        .map(|pin| pin.git_dir))
}

impl Registry {
    /// The pin of the nearest cached worktree at or above `cwd`, if its admin directory still
    /// names it.
    fn cached_pin(&self, cwd: &Path) -> Option<Pin> {
        cwd.ancestors().find_map(|dir| {
            let admin = self.admin_dirs.get(dir)?;
            (names_worktree(admin).as_deref() == Some(dir)).then(|| Pin {
                git_dir: admin.clone(),
                work_tree: dir.to_path_buf(),
            })
        })
    }

    /// Re-reads `<common dir>/worktrees/*/gitdir` of every registered repository, forgetting
    /// repositories that are gone.
    fn rescan(&mut self) {
        self.common_dirs.retain(|dir| dir.is_dir());
        let mut admin_dirs = HashMap::new();
        for common in &self.common_dirs {
            let Ok(entries) = std::fs::read_dir(common.join("worktrees")) else {
                continue;
            };
            for entry in entries.flatten() {
                let admin = entry.path();
                if let Some(top) = names_worktree(&admin) {
                    admin_dirs.insert(top, admin);
                }
            }
        }
        self.admin_dirs = admin_dirs;
    }
}

/// The worktree (canonical top level) the admin directory `admin` belongs to, from its
/// `gitdir` file (`<worktree>/.git`). `None` when unreadable, when the worktree is gone, or
/// when the admin directory lies inside the worktree (a stage could have made it).
fn names_worktree(admin: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(admin.join("gitdir")).ok()?;
    // Relative with `worktree.useRelativePaths`: then relative to the admin directory.
    let dot_git = admin.join(text.trim_end_matches(['\n', '\r']));
    if dot_git.file_name() != Some(OsStr::new(".git")) {
        return None;
    }
    let top = dot_git.parent()?.canonicalize().ok()?;
    let admin = admin.canonicalize().ok()?;
    (!admin.starts_with(&top)).then_some(top)
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
    fn git_is_found_in_absolute_path_directories_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let make = |sub: &str, mode: u32| {
            let d = dir.path().join(sub);
            std::fs::create_dir_all(&d).unwrap();
            let file = d.join("git");
            std::fs::write(&file, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
            d
        };
        let plain = make("plain", 0o644);
        let first = make("first", 0o755);
        let second = make("second", 0o755);
        let directory = dir.path().join("dir");
        std::fs::create_dir_all(directory.join("git")).unwrap();
        let path = std::env::join_paths([
            PathBuf::from("relative"),
            PathBuf::new(),
            dir.path().join("missing"),
            plain,
            directory,
            first.clone(),
            second,
        ])
        .unwrap();
        assert_eq!(find_in_path(&path, "git"), Some(first.join("git")));
        let only_relative = std::env::join_paths([".", "bin"]).unwrap();
        assert_eq!(find_in_path(&only_relative, "git"), None);
        assert!(
            Path::new(git_program()).is_absolute(),
            "git is on PATH here"
        );
    }

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
