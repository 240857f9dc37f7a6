//! The run branch's private ref directory. Inside the sandbox, the directory that holds the run
//! branch's loose ref (`refs/heads/engine/`) is a private copy: the attempt's processes commit
//! to the run branch as usual, but what they write there (their branch, or any other branch of
//! that directory they try to move) lands in the copy. At the end of the attempt the host
//! moves the real run branch to the copy's value (compare-and-swap) and drops the rest.

use std::path::{Path, PathBuf};

use engine_git::Repo;

use super::SandboxError;

/// The private copy of one run branch's ref directory and reflog directory.
#[derive(Debug)]
pub(super) struct PrivateRefs {
    repo: Repo,
    branch: String,
    /// (private copy, real directory) for the refs and the reflogs.
    refs: (PathBuf, PathBuf),
    logs: (PathBuf, PathBuf),
    /// The loose ref's file name.
    leaf: String,
    /// The branch's commit when the attempt started.
    initial: String,
}

impl PrivateRefs {
    /// Copies the branch's ref directory into `attempt_dir/refs` (with the branch's current
    /// commit written loose, even when git had packed it) and makes an empty reflog directory.
    /// A directory crowded with other runs' loose refs is packed first
    /// ([`Repo::pack_crowded_ref_dir`]).
    /// Commits an earlier attempt made inside its sandbox but never synced back (the engine
    /// died first) are recovered first.
    pub(super) fn prepare(
        repo: &Repo,
        branch: &str,
        attempt_dir: &Path,
    ) -> Result<PrivateRefs, SandboxError> {
        // Every run adds a loose ref to the directory copied below: packed once it is
        // crowded, so an attempt copies a few files, not one per run the repository ever had.
        if let Err(e) = repo.pack_crowded_ref_dir(branch) {
            tracing::warn!("could not pack the run branches' refs: {e}");
        }
        let paths = repo.branch_ref_paths(branch)?;
        recover_unsynced(repo, branch, &paths.leaf, attempt_dir)?;

        let initial = repo
            .branch_commit(branch)?
            .ok_or_else(|| SandboxError::NoRunBranch(branch.to_string()))?;
        let private_refs = attempt_dir.join("refs");
        let private_logs = attempt_dir.join("logs");
        copy_ref_files(&paths.ref_dir, &private_refs).map_err(|source| SandboxError::CopyRefs {
            path: paths.ref_dir.clone(),
            source,
        })?;
        std::fs::write(private_refs.join(&paths.leaf), format!("{initial}\n"))
            .and_then(|()| std::fs::create_dir_all(&private_logs))
            .map_err(SandboxError::PrivateRefs)?;
        Ok(PrivateRefs {
            repo: repo.clone(),
            branch: branch.to_string(),
            refs: (private_refs, paths.ref_dir),
            logs: (private_logs, paths.log_dir),
            leaf: paths.leaf,
            initial,
        })
    }

    /// (private directory, where it appears) pairs for the sandbox.
    pub(super) fn mounts(&self) -> Vec<(PathBuf, PathBuf)> {
        vec![self.refs.clone(), self.logs.clone()]
    }

    /// Moves the real branch to the private copy's value when the attempt moved it.
    pub(super) fn sync_back(&self) -> Result<(), SandboxError> {
        let path = self.refs.0.join(&self.leaf);
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Err(SandboxError::BranchDeleted(self.branch.clone()));
        };
        let value = text.trim();
        if value == self.initial {
            return Ok(());
        }
        if !is_sha(value) {
            return Err(SandboxError::NotACommit {
                branch: self.branch.clone(),
                value: value.to_string(),
            });
        }
        self.repo
            .move_branch(&self.branch, value, &self.initial)
            .map_err(|source| SandboxError::SyncBack {
                branch: self.branch.clone(),
                source,
            })
    }
}

/// Moves the run branch forward to what an interrupted earlier attempt of the same stage
/// committed inside its sandbox (its private ref, left in its attempt directory
/// `<stage>.<n>`), when that descends from the branch; then removes those leftovers. Other
/// stages' directories are left alone: their attempts may be running.
fn recover_unsynced(
    repo: &Repo,
    branch: &str,
    leaf: &str,
    attempt_dir: &Path,
) -> Result<(), SandboxError> {
    let Some(sandboxes) = attempt_dir.parent() else {
        return Ok(());
    };
    let Ok(entries) = std::fs::read_dir(sandboxes) else {
        return Ok(());
    };
    let Some((stage, attempt)) = attempt_dir
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.rsplit_once('.'))
        .and_then(|(s, a)| Some((s.to_string(), a.parse::<u32>().ok()?)))
    else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        let earlier = entry
            .file_name()
            .to_str()
            .and_then(|n| n.rsplit_once('.'))
            .is_some_and(|(s, a)| s == stage && a.parse::<u32>().is_ok_and(|a| a < attempt));
        if !earlier {
            continue;
        }
        let left = std::fs::read_to_string(dir.join("refs").join(leaf)).unwrap_or_default();
        let left = left.trim();
        let current = repo.branch_commit(branch)?;
        if let Some(current) = current
            && is_sha(left)
            && left != current
            && repo.is_ancestor(&current, left).unwrap_or(false)
        {
            repo.move_branch(branch, left, &current)
                .map_err(SandboxError::Recover)?;
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

/// A full hex object name.
fn is_sha(text: &str) -> bool {
    (text.len() == 40 || text.len() == 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Copies the loose ref files of `from` (recursively) into `to`; symlinks and other odd files
/// are skipped.
fn copy_ref_files(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_ref_files(&entry.path(), &target)?;
        } else if kind.is_file() && !entry.file_name().to_string_lossy().ends_with(".lock") {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
