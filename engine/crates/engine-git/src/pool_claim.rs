//! Claiming an idle worktree of the pool for a new run (see [`crate::pool`]).
//!
//! The run's worktree is registered as usual (`git worktree add --no-checkout`, locked as
//! being claimed), then the idle directory is renamed to its place and switched to its commit.
//! The result must be indistinguishable from a fresh checkout, whatever the earlier run did in
//! it — including writing the worktree's index with forged stat data, so that a file it
//! changed looks unchanged. So the earlier run's index is never used:
//!
//! - When engine saved its own copy of the index the last time it made the directory hold a
//!   commit (`<pool>/<name>.index`, kept where no stage can write; see [`save_index`]), that copy
//!   becomes the index. A file the earlier run touched in any way has a newer change time
//!   (`ctime`, which the kernel sets and no process can set back): engine deletes it, so git
//!   writes it again from the commit; an untouched file still holds what engine checked out and
//!   is left alone. `git reset --hard` then rewrites only the files that differ from the new
//!   commit or are missing (with `core.trustctime` and `core.checkStat` forced on, no
//!   fsmonitor).
//! - Without that copy, the index is built from the commit (`git read-tree`) and every file is
//!   read and compared (`git update-index --refresh`) before the reset: slower, as safe.
//!
//! Then every file not in the commit goes (`git clean -ffdx`: untracked, ignored, nested
//! repositories and their hooks). No hook runs. When any of that fails (a file the earlier run
//! made impossible to delete...), the directory is moved aside and the worktree checked out
//! anew.

use std::path::{Path, PathBuf};

use crate::command::run_git;
use crate::pool::idle_in;
use crate::pool_index;
use crate::worktree::remove_dir;
use crate::{GitError, Repo};

impl Repo {
    /// The idle worktree a new worktree at `path` would take (the first of its pool), if any.
    pub(crate) fn idle_to_claim(&self, path: &Path) -> Result<Option<PathBuf>, GitError> {
        Ok(self
            .pool_dir_for(path)?
            .and_then(|pool| idle_in(&pool).into_iter().next()))
    }

    /// Moves the idle worktree `idle` to `path`, just registered (locked, no files), and
    /// switches it to the registration's HEAD. `hold` is called once it has moved, before it
    /// is switched (the crash tests hold there). `Ok(false)`: `idle` could not be moved (gone),
    /// `path` is as it was and the caller checks the files out itself.
    pub(crate) fn move_in_idle(
        &self,
        path: &Path,
        idle: &Path,
        hold: &mut dyn FnMut(),
    ) -> Result<bool, GitError> {
        let admin = self.just_registered(path)?;
        let dot_git_text = format!("gitdir: {}\n", admin.display());
        // The idle directory's `.git` names its earlier registration: replaced first, so that
        // from the rename on it names the new one.
        let idle_dot_git = idle.join(".git");
        if idle_dot_git.symlink_metadata().is_ok_and(|m| m.is_dir()) {
            remove_dir(&idle_dot_git)?;
        }
        if crate::pool::write_atomic(&idle_dot_git, &dot_git_text).is_err() {
            return Ok(false);
        }
        remove_path(&path.join(".git"))?;
        remove_dir(path)?;
        if std::fs::rename(idle, path).is_err() {
            create_dir(path)?;
            crate::pool::write_atomic(&path.join(".git"), &dot_git_text)?;
            return Ok(false);
        }
        hold();
        let touched = pool_index::install_saved(idle, path, &admin.join("index"));
        if let Err(e) = switch_claimed(path, &admin, touched) {
            tracing::warn!(
                "could not clean the reused worktree {} ({e}); checking it out anew",
                path.display()
            );
            let aside = crate::removal::aside_path(path);
            remove_dir(&aside)?;
            std::fs::rename(path, &aside).map_err(|source| GitError::Io {
                op: "moving aside",
                path: path.to_path_buf(),
                source,
            })?;
            crate::removal::delete_in_background(aside);
            create_dir(path)?;
            crate::pool::write_atomic(&path.join(".git"), &dot_git_text)?;
            remove_path(&admin.join("index"))?;
            return Ok(false);
        }
        if let Some(pool) = idle.parent() {
            pool_index::save(pool, path, &admin);
        }
        Ok(true)
    }
}

/// Makes the worktree at `path` (registered at `admin`) hold exactly its HEAD's commit:
/// index, files, nothing else; then lifts the lock. `touched`: the index is engine's saved
/// copy, and these are the files changed since it was saved (their entries go, so they are
/// rewritten); `None`: the index is built from the commit and every file compared.
fn switch_claimed(
    path: &Path,
    admin: &Path,
    touched: Option<Vec<PathBuf>>,
) -> Result<(), GitError> {
    let git = |args: &[&str]| {
        let mut all: Vec<&std::ffi::OsStr> = vec![
            "--git-dir".as_ref(),
            admin.as_os_str(),
            "--work-tree".as_ref(),
            path.as_os_str(),
        ];
        all.extend(args.iter().map(std::ffi::OsStr::new));
        run_git(path, &all)
    };
    // Stat data is compared in full (ctime included), and never skipped for a daemon.
    let strict = [
        "-c",
        "core.trustctime=true",
        "-c",
        "core.checkStat=default",
        "-c",
        "core.fsmonitor=false",
        "-c",
        "core.untrackedCache=false",
    ];
    let strict_git = |args: &[&str]| git(&[&strict[..], args].concat());
    if let Some(touched) = touched {
        // Whatever the saved index says about them, these paths no longer exist: the reset
        // writes the commit's version of each one the commit has (a file the index lists but
        // the worktree lacks is always checked out again), and the rest are gone as `clean`
        // would have them. A symbolic link is removed itself, never what it points to.
        for file in &touched {
            let full = path.join(file);
            match std::fs::remove_file(&full) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(GitError::Io {
                        op: "removing",
                        path: full,
                        source,
                    });
                }
            }
        }
    } else {
        remove_path(&admin.join("index"))?;
        strict_git(&["read-tree", "HEAD"])?.success()?;
        // Exit code 1: some files differ from the commit (the reset rewrites them).
        let refresh = strict_git(&["update-index", "-q", "--refresh"])?;
        if !matches!(refresh.code(), Some(0 | 1)) {
            return Err(refresh.into_failure());
        }
    }
    strict_git(&["reset", "--hard", "--no-recurse-submodules", "--quiet"])?.success()?;
    strict_git(&["clean", "-ffdxq"])?.success()?;
    remove_path(&admin.join("locked"))
}

/// Removes a file (or an empty directory); gone already is fine.
fn remove_path(path: &Path) -> Result<(), GitError> {
    let result = match path.symlink_metadata() {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir(path),
        Ok(_) => std::fs::remove_file(path),
        Err(_) => return Ok(()),
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(GitError::Io {
            op: "removing",
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Creates the directory `dir`.
fn create_dir(dir: &Path) -> Result<(), GitError> {
    std::fs::create_dir(dir).map_err(|source| GitError::Io {
        op: "creating",
        path: dir.to_path_buf(),
        source,
    })
}
