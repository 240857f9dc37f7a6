//! Keeping the directory of run branches' loose refs small.
//!
//! Every run adds a branch under the same prefix (`refs/heads/engine/`), and every sandboxed
//! attempt copies that directory's loose ref files into its private refs (see the engine's
//! `confine::refs`): left alone, after a thousand runs each attempt copies and later deletes a
//! thousand files, and the file system's inode allocator slows down with the churn (on ext4,
//! every new file scans past the recently deleted inodes). So when the directory holds more
//! than [`LOOSE_REFS_BEFORE_PACKING`] loose refs, engine has git pack the refs under it into
//! `packed-refs` (`git pack-refs`, what `git gc` does for every ref): their values do not change,
//! git and engine read them from `packed-refs`, and the directory is nearly empty again.

use std::path::Path;

use crate::command::run_git;
use crate::{GitError, Repo};

/// The file that keeps a packed directory of run branches in place (git skips names that
/// start with a dot when it reads loose refs).
const KEEP_FILE: &str = ".engine-keep";

/// How many loose refs a run branch's ref directory holds before they are packed.
pub const LOOSE_REFS_BEFORE_PACKING: usize = 64;

impl Repo {
    /// Packs the refs of the directory holding `branch`'s loose ref (e.g. every
    /// `refs/heads/engine/*` for `engine/task-1`) when it holds more than
    /// [`LOOSE_REFS_BEFORE_PACKING`] loose refs; returns whether git packed them. Refs git alone
    /// reads (reftable) are never loose: nothing to do. git's own locking makes this safe
    /// alongside other git commands; a pack that fails (`packed-refs.lock` held by another
    /// packer) is left for next time.
    pub fn pack_crowded_ref_dir(&self, branch: &str) -> Result<bool, GitError> {
        if !self.refs_read_in_process() {
            return Ok(false);
        }
        let Some((dir, _)) = branch.rsplit_once('/') else {
            // A branch directly under `refs/heads/` shares it with the user's branches.
            return Ok(false);
        };
        let ref_dir = self.git_common_dir()?.join("refs/heads").join(dir);
        if count_loose_refs(&ref_dir, LOOSE_REFS_BEFORE_PACKING + 1) <= LOOSE_REFS_BEFORE_PACKING {
            return Ok(false);
        }
        // git removes a directory it emptied of loose refs, and another run's sandbox may be
        // about to mount it: a file git never reads as a ref (its name starts with a dot)
        // keeps it.
        let keep = ref_dir.join(KEEP_FILE);
        if let Err(source) = std::fs::write(&keep, "") {
            return Err(GitError::Io {
                op: "writing",
                path: keep,
                source,
            });
        }
        // `--include` (git 2.42) packs only that directory; a name with glob characters, or an
        // older git, packs every ref as `git gc` would.
        let include = format!("refs/heads/{dir}/*");
        let only_dir: &[&str] = &["pack-refs", "--include", &include];
        let every: &[&str] = &["pack-refs", "--all"];
        let plain = !dir.contains(['*', '?', '[', '\\']);
        for args in [plain.then_some(only_dir), Some(every)]
            .into_iter()
            .flatten()
        {
            let packed = run_git(self.root(), args)?;
            if packed.status.success() {
                return Ok(true);
            }
            tracing::debug!("{} failed: {}", packed.command, packed.stderr.trim());
        }
        tracing::warn!("could not pack the run branches' refs under refs/heads/{dir}");
        Ok(false)
    }
}

/// The loose ref files under `dir` (recursively; as for git, `*.lock` files and names that
/// start with a dot are not refs), counted up to `enough`.
fn count_loose_refs(dir: &Path, enough: usize) -> usize {
    let mut count = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file()
                && !entry.file_name().to_string_lossy().starts_with('.')
                && !entry
                    .file_name()
                    .to_string_lossy()
                    .to_ascii_lowercase()
                    .ends_with(".lock")
            {
                count += 1;
                if count >= enough {
                    return count;
                }
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_repo::{TestRepo, git};

    #[test]
    fn a_crowded_run_branch_directory_is_packed_and_every_branch_keeps_its_commit() {
        let t = TestRepo::new("main");
        let repo = Repo::discover(&t.root).unwrap();
        let first = repo.rev_parse("HEAD").unwrap();
        t.commit_file("c.txt", "c\n");
        let second = repo.rev_parse("HEAD").unwrap();
        let dir = t.root.join(".git/refs/heads/engine");
        let commit_of = |n: usize| if n.is_multiple_of(2) { &first } else { &second };
        for n in 0..LOOSE_REFS_BEFORE_PACKING {
            git(
                &t.root,
                &["branch", &format!("engine/task-{n}"), commit_of(n)],
            );
        }
        git(&t.root, &["branch", "user-branch", &first]);
        assert!(
            !repo.pack_crowded_ref_dir("engine/task-0").unwrap(),
            "not crowded yet"
        );
        assert_eq!(
            count_loose_refs(&dir, usize::MAX),
            LOOSE_REFS_BEFORE_PACKING
        );

        git(&t.root, &["branch", "engine/nested/deeper", &second]);
        assert!(repo.pack_crowded_ref_dir("engine/task-0").unwrap());
        assert_eq!(
            count_loose_refs(&dir, usize::MAX),
            0,
            "the loose refs are packed"
        );
        for n in 0..LOOSE_REFS_BEFORE_PACKING {
            let branch = format!("engine/task-{n}");
            assert_eq!(&repo.branch_commit(&branch).unwrap().unwrap(), commit_of(n));
            assert_eq!(&git(&t.root, &["rev-parse", &branch]).trim(), commit_of(n));
        }
        assert_eq!(
            repo.branch_commit("engine/nested/deeper").unwrap().unwrap(),
            second
        );
        // Only the run branches' directory: the user's own branches stay as they were.
        assert!(t.root.join(".git/refs/heads/user-branch").is_file());
        assert!(t.root.join(".git/refs/heads/main").is_file());
        // A branch of the user's (no directory of its own) is never a reason to pack.
        assert!(!repo.pack_crowded_ref_dir("main").unwrap());
    }
}
