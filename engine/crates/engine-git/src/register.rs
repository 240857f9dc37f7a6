//! Registering a new linked worktree without starting git: what `git worktree add
//! --no-checkout --lock -b <branch> <path> <commit>` writes, written by engine.
//!
//! `git worktree add -b` costs two processes (itself, and the `git branch` it starts) for a
//! handful of small files: the branch's ref, and `<common dir>/worktrees/<name>/{locked,
//! commondir,HEAD,gitdir}` plus `<path>/.git`. Here they are written in the order that keeps a
//! crash repairable by the same code that repairs a killed `git worktree add`
//! (`Repo::repair_half_made`): the registration directory and its `locked` file first (from then
//! on it is "still locked as being created"), then the branch (a branch that exists is attached
//! to, as after git's own crash), then the other files, each written whole (a temporary file
//! renamed into place).
//!
//! Only the plain case is done here; anything else is left to git, which either does it or
//! says why not: refs git alone reads (reftable), a checkout whose sparse-checkout patterns or
//! per-worktree configuration git would copy into the new worktree, a branch name outside a conservative set, a
//! base commit not found as a loose object or in a pack index of the repository itself
//! (alternates, a multi-pack index alone), a registration name already taken, a lock held on
//! the branch, a directory or file in the way. Not written: the reflog entries of the new branch
//! ("branch: Created from ...") and of the worktree's `HEAD`; both reflogs start with the run's
//! first commit.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::GitError;
use crate::Repo;

/// What [`Repo::register_worktree`] did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Registered {
    /// The worktree is registered (locked with the reason given), its `.git` file written.
    Done,
    /// Nothing was changed: git must do it.
    AskGit,
}

impl Repo {
    /// Registers a worktree at `path` (absent) on `branch`: a new branch at `base_commit` when
    /// `create_branch`, else the existing one. Locked with `reason`. The caller holds the
    /// worktree turn and has checked that `path` is free and `branch` is not checked out.
    pub(crate) fn register_worktree(
        &self,
        path: &Path,
        branch: &str,
        base_commit: &str,
        create_branch: bool,
        reason: &str,
    ) -> Result<Registered, GitError> {
        let Some((_, root_git_dir)) = self.root_refs() else {
            return Ok(Registered::AskGit);
        };
        let common = self.git_common_dir()?;
        if settings_to_copy(&common, &root_git_dir) {
            return Ok(Registered::AskGit);
        }
        // git makes the leading directories, and records the worktree's real path.
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| io("creating", parent, source))?;
        }
        let (Some(name), Some(Ok(parent))) = (
            path.file_name().and_then(|n| n.to_str()),
            path.parent().map(Path::canonicalize),
        ) else {
            return Ok(Registered::AskGit);
        };
        let path = &parent.join(name);
        if !plain_branch_name(branch)
            || !plain_name(name)
            || (create_branch && !crate::object_lookup::object_is_stored(&common, base_commit))
        {
            return Ok(Registered::AskGit);
        }
        let worktrees = common.join("worktrees");
        let admin = worktrees.join(name);
        if let Err(source) = std::fs::create_dir_all(&worktrees) {
            return Err(io("creating", &worktrees, source));
        }
        match std::fs::create_dir(&admin) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Ok(Registered::AskGit);
            }
            Err(source) => return Err(io("creating", &admin, source)),
        }
        let undo = |admin: &Path| {
            let _ = std::fs::remove_dir_all(admin);
        };
        if let Err(e) = write_whole(&admin, "locked", &format!("{reason}\n")) {
            undo(&admin);
            return Err(e);
        }
        if create_branch {
            let taken = || self.branch_exists(branch).unwrap_or(true);
            match create_ref(&common, branch, base_commit, &taken) {
                Ok(true) => {}
                Ok(false) => {
                    undo(&admin);
                    return Ok(Registered::AskGit);
                }
                Err(e) => {
                    undo(&admin);
                    return Err(e);
                }
            }
        }
        // From here a crash leaves a registration `repair_half_made` removes, and the branch.
        let dot_git = path.join(".git");
        // The worktree's own refs (`refs/bisect`...), as git makes it.
        let own_refs = admin.join("refs");
        std::fs::create_dir(&own_refs).map_err(|source| io("creating", &own_refs, source))?;
        write_whole(&admin, "commondir", "../..\n")?;
        write_whole(&admin, "HEAD", &format!("ref: refs/heads/{branch}\n"))?;
        write_whole(&admin, "gitdir", &format!("{}\n", dot_git.display()))?;
        std::fs::create_dir(path).map_err(|source| io("creating", path, source))?;
        write_whole(path, ".git", &format!("gitdir: {}\n", admin.display()))?;
        Ok(Registered::Done)
    }
}

/// Whether `git worktree add`, run from the checkout whose git directory is `root_git_dir`,
/// would copy settings into the new worktree: its sparse-checkout patterns (`core.sparseCheckout`)
/// or its per-worktree configuration (`extensions.worktreeConfig`). Conservative: any sign of
/// either, or a configuration that includes other files, says yes (git then does it).
fn settings_to_copy(common: &Path, root_git_dir: &Path) -> bool {
    if root_git_dir.join("info/sparse-checkout").exists()
        || root_git_dir.join("config.worktree").exists()
    {
        return true;
    }
    std::fs::read_to_string(common.join("config")).map_or(true, |config| {
        let config = config.to_ascii_lowercase();
        ["sparsecheckout", "worktreeconfig", "include"]
            .iter()
            .any(|key| config.contains(key))
    })
}

/// Creates `refs/heads/<branch>` at `commit` the way git does (an exclusive `.lock` file
/// renamed into place). `Ok(false)`: not created (the lock is held, the branch exists loose or
/// `taken` says it exists, packed or not, a directory or file is in the way), nothing left
/// behind.
fn create_ref(
    common: &Path,
    branch: &str,
    commit: &str,
    taken: &dyn Fn() -> bool,
) -> Result<bool, GitError> {
    let file = common.join("refs/heads").join(branch);
    let Some(dir) = file.parent() else {
        return Ok(false);
    };
    if std::fs::create_dir_all(dir).is_err() {
        return Ok(false);
    }
    let lock = lock_path(&file);
    let Ok(mut out) = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&lock)
    else {
        return Ok(false);
    };
    // Checked under the lock: another writer of the branch takes the same lock.
    if file.symlink_metadata().is_ok() || taken() {
        drop(out);
        let _ = std::fs::remove_file(&lock);
        return Ok(false);
    }
    let written = out
        .write_all(format!("{commit}\n").as_bytes())
        .and_then(|()| std::fs::rename(&lock, &file));
    if let Err(source) = written {
        let _ = std::fs::remove_file(&lock);
        return Err(io("writing", &file, source));
    }
    Ok(true)
}

/// `<file>.lock`.
fn lock_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Writes `text` to `dir/name` whole. Not synced to disk, as git does not sync these files
/// either.
fn write_whole(dir: &Path, name: &str, text: &str) -> Result<(), GitError> {
    crate::pool::write_whole(&dir.join(name), text, false)
}

fn io(op: &'static str, path: &Path, source: std::io::Error) -> GitError {
    GitError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// A name made only of ASCII letters, digits, `-`, `_` and `.`, not starting with `.` nor
/// ending with `.lock` (in any case: file systems that ignore case) or `.`.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.to_ascii_lowercase().ends_with(".lock")
        && !name.ends_with('.')
        && !name.contains("..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A branch name that is valid for git for certain (`git check-ref-format --branch` accepts
/// more; those go to git): `/`-separated plain names, not `HEAD`.
fn plain_branch_name(branch: &str) -> bool {
    branch != "HEAD" && branch.split('/').all(plain_name)
}
