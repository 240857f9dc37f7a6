//! Files as a commit holds them, and the files a branch changed: what the engine reads from the
//! object store when the worktree cannot be trusted (a stage may have rewritten it), e.g. the
//! project's constitution and skill files at a run's base commit. Through the same controlled
//! git command as every other operation (scrubbed environment, worktree pinning).

use std::path::Path;

use crate::GitError;
use crate::command::{admin_dir_of, run_git};
use crate::repo::reject_option_like;

/// What a commit holds at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileAt {
    /// Nothing.
    Missing,
    /// Something that is not a regular file (a directory, a symbolic link, a submodule).
    NotAFile,
    /// A regular file over the size asked for; its size in bytes.
    TooLarge(u64),
    /// A regular file's bytes.
    Bytes(Vec<u8>),
}

/// The file at `path` (relative to the repository root, `/`-separated) in `commit`, read in the
/// repository whose work tree is `root`: `git ls-tree` for what and how big it is, then
/// `git cat-file blob` when it is a regular file of at most `max_bytes`.
pub fn file_at(root: &Path, commit: &str, path: &str, max_bytes: u64) -> Result<FileAt, GitError> {
    reject_option_like("revision", commit)?;
    reject_option_like("path", path)?;
    let listed = run_git(root, &["ls-tree", "-l", "-z", commit, "--", path])?.success()?;
    let Some(entry) = listed.stdout.split(|b| *b == 0).find(|e| !e.is_empty()) else {
        return Ok(FileAt::Missing);
    };
    let entry = String::from_utf8_lossy(entry);
    // `<mode> SP <type> SP <object> SP+ <size> TAB <path>`
    let Some((meta, listed_path)) = entry.split_once('\t') else {
        return Err(unexpected(&listed.command, &entry));
    };
    if listed_path != path {
        // git listed something other than the file asked for: not this file.
        return Ok(FileAt::Missing);
    }
    let fields: Vec<&str> = meta.split_whitespace().collect();
    let [mode, kind, object, size] = fields.as_slice() else {
        return Err(unexpected(&listed.command, &entry));
    };
    if *kind != "blob" || !mode.starts_with("100") {
        return Ok(FileAt::NotAFile);
    }
    let size: u64 = size
        .parse()
        .map_err(|_| unexpected(&listed.command, &entry))?;
    if size > max_bytes {
        return Ok(FileAt::TooLarge(size));
    }
    let bytes = run_git(root, &["cat-file", "blob", object])?.success()?;
    Ok(FileAt::Bytes(bytes.stdout))
}

/// Whether `path` (relative to the repository root, `/`-separated) is certainly absent from the
/// commit the linked worktree `worktree` was checked out from, judged without starting git:
/// nothing is at that path in the worktree and no sparse checkout can have left it out. Only
/// meaningful while nothing has written the worktree since its checkout (the caller knows);
/// `false` means "ask git" ([`file_at`]).
pub fn absent_from_fresh_checkout(worktree: &Path, path: &str) -> bool {
    let plain = !path.is_empty()
        && !path.starts_with('/')
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..");
    if !plain {
        return false;
    }
    let Ok(Some(admin)) = admin_dir_of(worktree) else {
        return false;
    };
    let common = std::fs::read_to_string(admin.join("commondir"))
        .ok()
        .map(|dir| admin.join(dir.trim()));
    let Some(common) = common else {
        return false;
    };
    // A sparse checkout leaves committed files out of the worktree: git must be asked then.
    let sparse = [
        admin.join("info/sparse-checkout"),
        common.join("info/sparse-checkout"),
    ]
    .iter()
    .any(|file| file.symlink_metadata().is_ok())
        || [
            (admin.join("config.worktree"), true),
            (common.join("config"), false),
        ]
        .iter()
        .any(
            |(config, may_be_missing)| match std::fs::read_to_string(config) {
                Ok(text) => text.to_ascii_lowercase().contains("sparse"),
                Err(e) => !(*may_be_missing && e.kind() == std::io::ErrorKind::NotFound),
            },
        );
    if sparse {
        return false;
    }
    matches!(
        worktree.join(path).symlink_metadata(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound
    )
}

/// The files `branch` changed since it left `base` (`git diff --name-only base...branch`),
/// relative to the repository root.
pub fn changed_files(root: &Path, base: &str, branch: &str) -> Result<Vec<String>, GitError> {
    reject_option_like("revision", base)?;
    reject_option_like("branch name", branch)?;
    let range = format!("{base}...refs/heads/{branch}");
    let out = run_git(
        root,
        &["diff", "--name-only", "--no-renames", "-z", &range, "--"],
    )?
    .success()?;
    Ok(out
        .stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect())
}

fn unexpected(command: &str, entry: &str) -> GitError {
    GitError::UnexpectedOutput {
        command: command.to_string(),
        detail: format!("{entry:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_repo::{TestRepo, git};

    #[test]
    fn a_committed_file_is_read_as_committed_and_other_kinds_are_named() {
        let repo = TestRepo::new("main");
        std::fs::create_dir_all(repo.root.join("spec")).unwrap();
        std::fs::write(repo.root.join("spec/rules.md"), "- be kind\n").unwrap();
        git(&repo.root, &["add", "-A"]);
        git(&repo.root, &["commit", "-q", "-m", "rules"]);
        let commit = git(&repo.root, &["rev-parse", "HEAD"]).trim().to_string();
        // The work tree changes; the commit does not.
        std::fs::write(repo.root.join("spec/rules.md"), "- anything goes\n").unwrap();
        assert_eq!(
            file_at(&repo.root, &commit, "spec/rules.md", 100).unwrap(),
            FileAt::Bytes(b"- be kind\n".to_vec())
        );
        assert_eq!(
            file_at(&repo.root, &commit, "spec/rules.md", 3).unwrap(),
            FileAt::TooLarge(10)
        );
        assert_eq!(
            file_at(&repo.root, &commit, "spec", 100).unwrap(),
            FileAt::NotAFile
        );
        assert_eq!(
            file_at(&repo.root, &commit, "spec/none.md", 100).unwrap(),
            FileAt::Missing
        );
        assert!(matches!(
            file_at(&repo.root, "--output=x", "spec/rules.md", 100),
            Err(GitError::InvalidArgument { .. })
        ));
    }

    #[test]
    fn absence_is_judged_from_a_fresh_checkout_unless_it_is_sparse() {
        let repo = TestRepo::new("main");
        crate::Repo::discover(&repo.root).unwrap();
        std::fs::create_dir_all(repo.root.join("spec")).unwrap();
        std::fs::write(repo.root.join("spec/rules.md"), "- be kind\n").unwrap();
        git(&repo.root, &["add", "-A"]);
        git(&repo.root, &["commit", "-q", "-m", "rules"]);
        let worktree = repo.root.parent().unwrap().join("linked");
        git(
            &repo.root,
            &[
                "worktree",
                "add",
                "-q",
                "--detach",
                worktree.to_str().unwrap(),
            ],
        );
        assert!(absent_from_fresh_checkout(&worktree, "spec/none.md"));
        assert!(!absent_from_fresh_checkout(&worktree, "spec/rules.md"));
        // Paths that are not plain relative paths are never judged.
        for odd in [
            "",
            "/etc/passwd",
            "spec/../spec/none.md",
            "./none.md",
            "spec//none.md",
        ] {
            assert!(!absent_from_fresh_checkout(&worktree, odd), "{odd:?}");
        }
        // Not a linked worktree: git is asked.
        assert!(!absent_from_fresh_checkout(&repo.root, "spec/none.md"));
        // A sparse checkout may have left a committed file out.
        git(&repo.root, &["config", "core.sparseCheckout", "true"]);
        assert!(!absent_from_fresh_checkout(&worktree, "spec/none.md"));
    }

    #[test]
    fn changed_files_are_those_of_the_branch_since_it_left_its_base() {
        let repo = TestRepo::new("main");
        let base = git(&repo.root, &["rev-parse", "HEAD"]).trim().to_string();
        git(&repo.root, &["checkout", "-q", "-b", "work"]);
        std::fs::write(repo.root.join("new.txt"), "x\n").unwrap();
        std::fs::write(repo.root.join("a.txt"), "changed\n").unwrap();
        git(&repo.root, &["add", "-A"]);
        git(&repo.root, &["commit", "-q", "-m", "work"]);
        assert_eq!(
            changed_files(&repo.root, &base, "work").unwrap(),
            ["a.txt", "new.txt"]
        );
    }
}
