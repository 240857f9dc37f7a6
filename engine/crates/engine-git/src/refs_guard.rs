//! What confinement needs from git: where a run branch's ref lives (so a sandbox can show the run
//! a private copy of that directory), moving the branch to what the sandboxed processes
//! committed, and snapshots of the refs and the checkout to prove nothing else moved.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::command::run_git;
use crate::error::GitError;
use crate::repo::Repo;

/// Where git keeps a branch's ref and reflog in the common git directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchRefPaths {
    /// `<common>/refs/heads/<dir of the branch>`: the directory holding the loose ref.
    pub ref_dir: PathBuf,
    /// `<common>/logs/refs/heads/<dir of the branch>`.
    pub log_dir: PathBuf,
    /// The branch's last path component (the loose ref's file name in `ref_dir`).
    pub leaf: String,
}

/// What must not change while an attempt runs: every ref outside the run's own branch, the
/// user's checked-out `HEAD` and index.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RepoSnapshot {
    refs: BTreeMap<String, String>,
    head: String,
    index: Option<Vec<u8>>,
}

impl RepoSnapshot {
    /// What differs from `earlier`, one line each (empty when nothing moved).
    pub fn changes_since(&self, earlier: &RepoSnapshot) -> Vec<String> {
        let mut changes = Vec::new();
        for (name, value) in &self.refs {
            match earlier.refs.get(name) {
                None => changes.push(format!("{name} was created at {}", short(value))),
                Some(old) if old != value => changes.push(format!(
                    "{name} moved from {} to {}",
                    short(old),
                    short(value)
                )),
                Some(_) => {}
            }
        }
        for name in earlier.refs.keys() {
            if !self.refs.contains_key(name) {
                changes.push(format!("{name} was deleted"));
            }
        }
        if self.head != earlier.head {
            changes.push(format!(
                "the checkout's HEAD changed from {} to {}",
                earlier.head, self.head
            ));
        }
        if self.index != earlier.index {
            changes.push("the checkout's index (.git/index) was rewritten".to_string());
        }
        changes
    }
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

impl Repo {
    /// Where `branch`'s loose ref and reflog live (the directories are created when missing, as
    /// git itself would on the first update).
    pub fn branch_ref_paths(&self, branch: &str) -> Result<BranchRefPaths, GitError> {
        let common = self.git_common_dir()?;
        let (dir, leaf) = match branch.rsplit_once('/') {
            Some((dir, leaf)) => (Some(dir), leaf),
            None => (None, branch),
        };
        let join = |base: PathBuf| match dir {
            Some(dir) => base.join(dir),
            None => base,
        };
        let paths = BranchRefPaths {
            ref_dir: join(common.join("refs").join("heads")),
            log_dir: join(common.join("logs").join("refs").join("heads")),
            leaf: leaf.to_string(),
        };
        for dir in [&paths.ref_dir, &paths.log_dir] {
            std::fs::create_dir_all(dir).map_err(|e| GitError::WorktreeConflict {
                path: dir.clone(),
                detail: format!("cannot be created: {e}"),
            })?;
        }
        Ok(paths)
    }

    /// The commit `refs/heads/<branch>` points to, `None` when it does not exist.
    pub fn branch_commit(&self, branch: &str) -> Result<Option<String>, GitError> {
        let reference = format!("refs/heads/{branch}");
        if let Some((refs, git_dir)) = self.root_refs() {
            match refs.resolve(&git_dir, &reference) {
                // A branch names a commit (git refuses to point one at anything else).
                crate::refs::Lookup::Known(id) => return Ok(id),
                crate::refs::Lookup::AskGit => {}
            }
        }
        let output = run_git(
            self.root(),
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{reference}^{{commit}}"),
            ],
        )?;
        Ok(output
            .success()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()))
    }

    /// Moves `branch` from `old` to `new` (a commit that must exist), refusing when the branch
    /// is no longer at `old`.
    pub fn move_branch(&self, branch: &str, new: &str, old: &str) -> Result<(), GitError> {
        crate::repo::reject_option_like("commit", new)?;
        run_git(
            self.root(),
            &["cat-file", "-e", &format!("{new}^{{commit}}")],
        )?
        .success()?;
        run_git(
            self.root(),
            &[
                "update-ref",
                "-m",
                "engine: commits made inside the sandbox",
                &format!("refs/heads/{branch}"),
                new,
                old,
            ],
        )?
        .success()?;
        Ok(())
    }

    /// Every ref for which `skip` is false (full names, `refs/heads/...`), the checkout's `HEAD`
    /// and the bytes of its index.
    pub fn snapshot_refs(&self, skip: impl Fn(&str) -> bool) -> Result<RepoSnapshot, GitError> {
        let listing = run_git(
            self.root(),
            &["for-each-ref", "--format=%(objectname) %(refname)"],
        )?
        .success_text()?;
        let refs = listing
            .lines()
            .filter_map(|line| line.split_once(' '))
            .filter(|(_, name)| !skip(name))
            .map(|(sha, name)| (name.to_string(), sha.to_string()))
            .collect();
        let common = self.git_common_dir()?;
        let head = std::fs::read_to_string(common.join("HEAD"))
            .unwrap_or_default()
            .trim()
            .to_string();
        let index = read_optional(&common.join("index"));
        Ok(RepoSnapshot { refs, head, index })
    }
}

fn read_optional(path: &Path) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}
