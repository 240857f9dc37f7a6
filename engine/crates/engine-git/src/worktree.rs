//! Linked worktrees: one per run, on the run's own branch.
//!
//! A worktree is created in two steps so that a crash in between is recognisable: `git worktree
//! add --no-checkout --lock --reason "engine: being created"` registers it on its branch, then
//! its files are checked out and the lock is lifted. A registration still carrying that lock (or
//! git's own `initializing` lock, or missing the files git writes first) is the leftover of a
//! killed `git worktree add`: [`Repo::add_worktree`] removes it and creates the worktree again.

use std::path::{Path, PathBuf};

use crate::admin_dir::AdminDir;
use crate::command::run_git;
use crate::register::Registered;
use crate::repo::reject_option_like;
use crate::{GitError, Repo};

/// The lock reason a worktree carries while engine creates it (until its files are checked out).
pub(crate) const CREATING_REASON: &str = "engine: being created";

/// The lock reason `git worktree add` itself writes until it has finished.
pub(crate) const GIT_INITIALIZING_REASON: &str = "initializing";

/// Lock files git leaves in a worktree's administrative directory when it is killed mid-command.
const ADMIN_LOCKS: &[&str] = &[
    "index.lock",
    "HEAD.lock",
    "ORIG_HEAD.lock",
    "AUTO_MERGE.lock",
    "MERGE_HEAD.lock",
    "CHERRY_PICK_HEAD.lock",
];

/// One entry of `git worktree list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorktreeEntry {
    /// Where the worktree is checked out.
    pub path: PathBuf,
    /// Its HEAD commit (None for a bare entry or an unborn branch).
    pub head: Option<String>,
    /// Its branch's short name (None when detached or bare).
    pub branch: Option<String>,
    /// Whether git considers it prunable (its directory is gone).
    pub prunable: bool,
}

/// Where [`Repo::add_worktree_reusing`] calls back (the crash tests hold there).
pub struct WorktreeHolds<'a> {
    /// A new worktree is registered on its branch, its files not checked out yet.
    pub before_checkout: &'a mut dyn FnMut(),
    /// An idle worktree taken from the pool has moved to the run's place (registered, locked as
    /// being claimed), not switched to the run's commit yet.
    pub at_claim: &'a mut dyn FnMut(),
}

/// What [`Repo::add_worktree_reusing`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    /// What had to be repaired first, one sentence each.
    pub repairs: Vec<String>,
    /// The idle worktree taken from the pool (where it was), `None` when it was checked out
    /// anew or was there already.
    pub reused: Option<PathBuf>,
}

impl Repo {
    /// Creates a worktree at `path` (relative paths are taken from the repository root) on a
    /// new branch `branch` starting at `base_commit`. The user's checkout, index and files are
    /// not touched.
    ///
    /// Idempotent for resume: if `path` already is a worktree on `branch`, nothing happens. If
    /// `branch` exists but `path` does not (its worktree was removed), the worktree is attached
    /// to the existing branch, which is not moved. What a killed `git worktree add` left at
    /// `path` is removed first and the worktree created again (see [`Repo::add_worktree_with`]).
    /// Any other occupant of `path` is an error.
    pub fn add_worktree(
        &self,
        path: &Path,
        branch: &str,
        base_commit: &str,
    ) -> Result<(), GitError> {
        self.add_worktree_with(path, branch, base_commit, &mut || {})
            .map(|_| ())
    }

    /// [`Repo::add_worktree`], saying what had to be repaired first (one sentence each), and
    /// calling `before_checkout` once the new worktree is registered on its branch but before
    /// its files are checked out (the crash tests hold there).
    ///
    /// Repaired first: a registration of `path` that a killed `git worktree add` left (locked
    /// as being created, or missing `gitdir`, `commondir` or `HEAD`) is removed with the
    /// directory; a directory at `path` whose `.git` file names a registration that is gone is
    /// removed; a registration of another worktree next to `path` whose empty `commondir` makes
    /// every `git worktree` command of the repository fail is removed; a stale lock of
    /// `branch` (`refs/heads/<branch>.lock`, from a killed `git branch`) is removed.
    pub fn add_worktree_with(
        &self,
        path: &Path,
        branch: &str,
        base_commit: &str,
        before_checkout: &mut dyn FnMut(),
    ) -> Result<Vec<String>, GitError> {
        let mut holds = WorktreeHolds {
            before_checkout,
            at_claim: &mut || {},
        };
        self.add_worktree_reusing(path, branch, base_commit, false, &mut holds)
            .map(|added| added.repairs)
    }

    /// [`Repo::add_worktree_with`], taking an idle worktree from the repository's pool (see
    /// [`crate::pool`]) when `reuse` and there is one, instead of checking out a new one: only
    /// the files that differ from the commit are rewritten, everything not in it is removed.
    /// What an interrupted claim left is removed first, like a half-created worktree.
    pub fn add_worktree_reusing(
        &self,
        path: &Path,
        branch: &str,
        base_commit: &str,
        reuse: bool,
        holds: &mut WorktreeHolds<'_>,
    ) -> Result<Added, GitError> {
        reject_option_like("branch name", branch)?;
        reject_option_like("revision", base_commit)?;
        let path = self.absolute(path);
        let _turn = self.worktree_turn()?;
        if let Some(parent) = path.parent() {
            crate::removal::sweep_leftovers(parent);
        }
        let mut repairs = self.repair_half_made(&path)?;
        repairs.extend(self.clear_branch_lock(branch)?);
        self.prune_worktrees()?;
        let worktrees = self.worktrees()?;
        let added = |repairs, reused| Added { repairs, reused };
        if let Some(existing) = worktrees.iter().find(|w| same_path(&w.path, &path)) {
            return match &existing.branch {
                Some(b) if b == branch => Ok(added(repairs, None)),
                other => Err(GitError::WorktreeConflict {
                    path,
                    detail: format!(
                        "already a worktree on {}, not on branch {branch}",
                        other.as_deref().unwrap_or("a detached HEAD")
                    ),
                }),
            };
        }
        if is_occupied(&path) {
            return Err(GitError::WorktreeConflict {
                path,
                detail: "exists and is not a worktree of this repository".to_string(),
            });
        }
        let idle = if reuse {
            self.idle_to_claim(&path)?
        } else {
            None
        };
        let reason = if idle.is_some() {
            crate::pool::CLAIMING_REASON
        } else {
            CREATING_REASON
        };
        let path_arg = path.as_os_str();
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "worktree".as_ref(),
            "add".as_ref(),
            "--no-checkout".as_ref(),
            "--lock".as_ref(),
            "--reason".as_ref(),
            reason.as_ref(),
        ];
        let exists = self.branch_exists(branch)?;
        if exists
            && let Some(holder) = worktrees
                .iter()
                .find(|w| w.branch.as_deref() == Some(branch))
        {
            return Err(GitError::WorktreeConflict {
                path,
                detail: format!(
                    "branch {branch} is already checked out at {}",
                    holder.path.display()
                ),
            });
        }
        if exists {
            args.extend([path_arg, branch.as_ref()]);
        } else {
            args.extend([
                "--no-track".as_ref(),
                "-b".as_ref(),
                branch.as_ref(),
                path_arg,
                base_commit.as_ref(),
            ]);
        }
        // The files `git worktree add` would write, written in-process when that is plain.
        if self.register_worktree(&path, branch, base_commit, !exists, reason)?
            == Registered::AskGit
        {
            run_git(self.root(), &args)?.success()?;
        }
        if let Some(idle) = idle
            && self.move_in_idle(&path, &idle, holds.at_claim)?
        {
            return Ok(added(repairs, Some(idle)));
        }
        (holds.before_checkout)();
        self.check_out_new_worktree(&path)?;
        if reuse
            && let Some(pool) = self.pool_dir_for(&path)?
            && let Some(admin) = self.admin_dir_of(&path)?
        {
            crate::pool_index::save(&pool, &path, &admin);
        }
        Ok(added(repairs, None))
    }

    /// The administrative directory of the worktree just added at `path`.
    pub(crate) fn just_registered(&self, path: &Path) -> Result<PathBuf, GitError> {
        self.admin_dir_of(path)?
            .ok_or_else(|| GitError::WorktreeConflict {
                path: path.to_path_buf(),
                detail: "was just added but git has no registration for it".to_string(),
            })
    }

    /// The second step of creating a worktree: fills its index and files from its branch (what
    /// `git worktree add` does itself without `--no-checkout`), with git pinned to the
    /// worktree's own administrative directory, then lifts the "being created" lock.
    fn check_out_new_worktree(&self, path: &Path) -> Result<(), GitError> {
        let admin = self.just_registered(path)?;
        let git_dir = admin.as_os_str();
        run_git(
            path,
            &[
                "--git-dir".as_ref(),
                git_dir,
                "--work-tree".as_ref(),
                path.as_os_str(),
                "reset".as_ref(),
                "--hard".as_ref(),
                "--no-recurse-submodules".as_ref(),
                "--quiet".as_ref(),
            ],
        )?
        .success()?;
        // What `git worktree unlock` does, without a process start.
        match std::fs::remove_file(admin.join("locked")) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(GitError::Io {
                op: "unlocking the new worktree: removing",
                path: admin.join("locked"),
                source,
            }),
        }
    }

    /// Removes the linked worktree at `path` (`git worktree remove`, with `--force` when asked:
    /// needed if it has modified or untracked files), then `git worktree prune`. Its branch is
    /// kept. A path that is neither a worktree nor present is already removed: Ok. The main
    /// worktree is never removed.
    pub fn remove_worktree(&self, path: &Path, force: bool) -> Result<(), GitError> {
        let path = self.absolute(path);
        let _turn = self.worktree_turn()?;
        let worktrees = self.worktrees()?;
        let position = worktrees.iter().position(|w| same_path(&w.path, &path));
        match position {
            Some(0) => {
                return Err(GitError::WorktreeConflict {
                    path,
                    detail: "is the main worktree; refusing to remove it".to_string(),
                });
            }
            Some(_) if path.exists() => {
                let mut args = vec!["worktree".as_ref(), "remove".as_ref()];
                if force {
                    args.push("--force".as_ref());
                }
                args.push(path.as_os_str());
                run_git(self.root(), &args)?.success()?;
            }
            None if path.exists() => {
                return Err(GitError::WorktreeConflict {
                    path,
                    detail: "is not a worktree of this repository".to_string(),
                });
            }
            // Not on disk: nothing to remove (the prune below drops a stale registration).
            Some(_) | None => {}
        }
        self.prune_worktrees()
    }

    /// Removes the lock files an interrupted git command left for the run worktree at `path`
    /// (`index.lock`, `HEAD.lock`... in its administrative directory, and the lock of its
    /// branch `refs/heads/<branch>.lock`), so the next git command in it does not fail with
    /// "File exists". Returns the files removed.
    ///
    /// Only for a worktree no git process can be working in: the caller guarantees it (engine is
    /// the only writer of a run's worktree, and holds the state directory's lock while it
    /// drives the run). The administrative directory is found from the repository's own list
    /// of worktrees, never through the worktree's `.git` file (which a stage can write).
    pub fn clear_stale_locks(&self, path: &Path, branch: &str) -> Result<Vec<PathBuf>, GitError> {
        reject_option_like("branch name", branch)?;
        let path = self.absolute(path);
        let _turn = self.worktree_turn()?;
        let mut removed = Vec::new();
        if let Some(admin) = self.admin_dir_of(&path)? {
            for name in ADMIN_LOCKS {
                let lock = admin.join(name);
                if remove_file_if_present(&lock)? {
                    removed.push(lock);
                }
            }
        }
        let ref_lock = self.branch_lock_path(branch)?;
        if remove_file_if_present(&ref_lock)? {
            removed.push(ref_lock);
        }
        Ok(removed)
    }

    /// The full commit id checked out in `worktree`.
    pub fn head_of(&self, worktree: &Path) -> Result<String, GitError> {
        if let Some((refs, git_dir)) = self.worktree_refs(worktree)
            && let crate::refs::Lookup::Known(Some(id)) = refs.resolve(&git_dir, "HEAD")
        {
            return Ok(id);
        }
        let text = run_git(worktree, &["rev-parse", "--verify", "HEAD"])?.success_text()?;
        Ok(text.trim_end_matches('\n').to_string())
    }

    /// `git status --porcelain` of `worktree` (empty when clean).
    pub fn status_porcelain(&self, worktree: &Path) -> Result<String, GitError> {
        run_git(worktree, &["status", "--porcelain"])?.success_text()
    }

    /// `path`, made absolute against the repository root.
    pub(crate) fn absolute(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.root().join(path)
        }
    }

    /// `<common git dir>/worktrees`, where git keeps one administrative directory per linked
    /// worktree.
    fn admin_root(&self) -> Result<PathBuf, GitError> {
        Ok(self.git_common_dir()?.join("worktrees"))
    }

    /// The administrative directory registering the worktree at `path` (absolute): the one
    /// whose `gitdir` file names `<path>/.git`.
    pub(crate) fn admin_dir_of(&self, path: &Path) -> Result<Option<PathBuf>, GitError> {
        Ok(self
            .admin_dirs()?
            .into_iter()
            .find(|a| a.worktree.as_deref().is_some_and(|w| same_path(w, path)))
            .map(|a| a.dir))
    }

    /// Every administrative directory under `<common git dir>/worktrees`, read from the files
    /// themselves (works when `git worktree list` fails on a broken one).
    pub(crate) fn admin_dirs(&self) -> Result<Vec<AdminDir>, GitError> {
        let root = self.admin_root()?;
        let entries = match std::fs::read_dir(&root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(GitError::Io {
                    op: "reading",
                    path: root,
                    source,
                });
            }
        };
        let mut dirs: Vec<AdminDir> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.symlink_metadata().is_ok_and(|m| m.is_dir()))
            .map(|dir| AdminDir::read(&dir))
            .collect();
        dirs.sort_by(|a, b| a.dir.cmp(&b.dir));
        Ok(dirs)
    }

    /// Removes what a killed `git worktree add` left at `path` (absolute), and registrations of
    /// worktrees next to it that break every `git worktree` command. The caller holds the
    /// worktree turn. Returns what was done, one sentence each.
    pub(crate) fn repair_half_made(&self, path: &Path) -> Result<Vec<String>, GitError> {
        let mut repairs = Vec::new();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let neighbourhood = path.parent();
        let mut registered = false;
        let mut half_made = None;
        for admin in self.admin_dirs()? {
            let why = match &admin.worktree {
                Some(worktree) if same_path(worktree, path) => {
                    if let Some(why) = admin.half_made() {
                        half_made = Some(why);
                        why
                    } else {
                        registered = true;
                        continue;
                    }
                }
                // Killed before git wrote `gitdir`: only the name tells whose it is.
                None if name.as_deref().is_some_and(|n| admin.named_after(n)) => "no gitdir file",
                Some(worktree)
                    if worktree
                        .parent()
                        .zip(neighbourhood)
                        .is_some_and(|(a, b)| same_path(a, b)) =>
                {
                    let Some(why) = admin.breaks_git() else {
                        continue;
                    };
                    remove_dir(&admin.dir)?;
                    repairs.push(format!(
                        "removed the broken registration {} of the half-made worktree {} ({why})",
                        admin.dir.display(),
                        worktree.display()
                    ));
                    continue;
                }
                _ => continue,
            };
            remove_dir(&admin.dir)?;
            repairs.push(format!(
                "removed the registration {} of the half-made worktree {} ({why}: its creation \
                 was interrupted)",
                admin.dir.display(),
                path.display()
            ));
        }
        if registered || path.symlink_metadata().is_err() {
            return Ok(repairs);
        }
        let orphan = orphan_gitdir(path);
        if half_made.is_some() || orphan.is_some() {
            remove_dir(path)?;
            repairs.push(format!(
                "removed the directory of the half-made worktree {} (it is created again)",
                path.display()
            ));
        }
        Ok(repairs)
    }

    /// Removes a stale `refs/heads/<branch>.lock`; what was done, if anything.
    fn clear_branch_lock(&self, branch: &str) -> Result<Option<String>, GitError> {
        let lock = self.branch_lock_path(branch)?;
        Ok(remove_file_if_present(&lock)?
            .then(|| format!("removed the stale lock {}", lock.display())))
    }

    /// `<common git dir>/refs/heads/<branch>.lock`.
    fn branch_lock_path(&self, branch: &str) -> Result<PathBuf, GitError> {
        let mut lock = self.git_common_dir()?.join("refs/heads");
        for part in branch.split('/') {
            if part.is_empty() || part == "." || part == ".." {
                return Err(GitError::InvalidArgument {
                    what: "branch name",
                    value: branch.to_string(),
                    reason: "not a valid branch name",
                });
            }
            lock.push(part);
        }
        lock.set_extension(match lock.extension() {
            Some(ext) => format!("{}.lock", ext.to_string_lossy()),
            None => "lock".to_string(),
        });
        Ok(lock)
    }
}

/// When `path` is a worktree directory whose `.git` file names an administrative directory
/// that no longer exists, that directory.
fn orphan_gitdir(path: &Path) -> Option<PathBuf> {
    let dot_git = path.join(".git");
    if !dot_git.symlink_metadata().is_ok_and(|m| m.is_file()) {
        return None;
    }
    let text = std::fs::read_to_string(&dot_git).ok()?;
    let gitdir = text.trim().strip_prefix("gitdir:")?.trim();
    let gitdir = PathBuf::from(gitdir);
    let looks_like_admin = gitdir
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|n| n == "worktrees");
    (looks_like_admin && !gitdir.exists()).then_some(gitdir)
}

/// Removes a directory and everything in it; gone already is fine.
pub(crate) fn remove_dir(dir: &Path) -> Result<(), GitError> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(GitError::Io {
            op: "removing",
            path: dir.to_path_buf(),
            source,
        }),
    }
}

/// Removes a file; `Ok(false)` when there was none.
fn remove_file_if_present(file: &Path) -> Result<bool, GitError> {
    match std::fs::remove_file(file) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(GitError::Io {
            op: "removing",
            path: file.to_path_buf(),
            source,
        }),
    }
}

/// Whether two paths name the same place (comparing canonical forms when they exist).
pub(crate) fn same_path(a: &Path, b: &Path) -> bool {
    let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    a == b || canonical(a) == canonical(b)
}

/// Whether `path` exists as a file or a non-empty directory (git refuses both).
fn is_occupied(path: &Path) -> bool {
    match std::fs::read_dir(path) {
        Ok(mut entries) => entries.next().is_some(),
        Err(_) => path.exists(),
    }
}
