//! Reading refs without starting git: the files backend's loose refs and `packed-refs`.
//!
//! Engine asks the same few questions many times per run (which commit is `HEAD` of this
//! worktree, does this branch exist, what does `main` name), and a `git rev-parse` costs a
//! process start each time. These are answered here from the files git itself keeps:
//!
//! - a loose ref `<dir>/refs/...` holds `<object id>\n` or `ref: <other ref>\n` (a symbolic ref);
//! - `<common dir>/packed-refs` holds `<object id> <ref>` lines (and `^<peeled id>` lines);
//! - `HEAD` (and the other per-worktree refs) live in the worktree's own git directory, every
//!   other ref in the common directory.
//!
//! git replaces both kinds of file by renaming a complete new file over the old one, and
//! `git pack-refs` writes `packed-refs` before it deletes the loose files, so a reader that looks
//! at the loose file first and `packed-refs` second never misses a ref that exists.
//!
//! Anything else is left to git: a repository using the reftable backend (or any other), a
//! name that is not a plain ref name, a file that does not parse. [`Refs::open`] returns `None`
//! for such repositories and the lookups return [`Lookup::AskGit`] for such names, and callers
//! then run the git command they always ran.

use std::path::{Path, PathBuf};

/// How many symbolic refs are followed before giving up (git's own limit is 5).
const MAX_SYMREF_DEPTH: usize = 5;

/// What a ref file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RefValue {
    /// An object id (lowercase hex).
    Direct(String),
    /// `ref: <name>`: another ref.
    Symbolic(String),
}

/// The answer of an in-process lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lookup<T> {
    /// Known for certain.
    Known(T),
    /// Not answerable here: ask git.
    AskGit,
}

/// The refs of one repository, read from its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refs {
    /// The common git directory (shared refs, `packed-refs`).
    common: PathBuf,
}

impl Refs {
    /// The refs of the repository whose common git directory is `common`, when it keeps them
    /// in the files backend; `None` for reftable (or anything git may add later).
    pub(crate) fn open(common: &Path) -> Option<Refs> {
        // A reftable repository has `reftable/` (and a placeholder `refs/heads` file).
        if common.join("reftable").exists() || !common.join("refs").is_dir() {
            return None;
        }
        if declares_other_ref_storage(common) {
            return None;
        }
        Some(Refs {
            common: common.to_path_buf(),
        })
    }

    /// What `HEAD` of the worktree whose own git directory is `git_dir` says (the common
    /// directory for the main worktree, `<common>/worktrees/<id>` for a linked one).
    pub(crate) fn head(&self, git_dir: &Path) -> Lookup<Option<RefValue>> {
        self.read(git_dir, "HEAD")
    }

    /// The object id `name` (a full ref name such as `refs/heads/main`, or `HEAD`) resolves to,
    /// following symbolic refs; per-worktree refs are read from `git_dir`. `Known(None)` when
    /// the ref does not exist (or points to a branch that does not exist yet).
    pub(crate) fn resolve(&self, git_dir: &Path, name: &str) -> Lookup<Option<String>> {
        let mut name = name.to_string();
        for _ in 0..MAX_SYMREF_DEPTH {
            let value = match self.read(git_dir, &name) {
                Lookup::Known(Some(value)) => value,
                Lookup::Known(None) => return Lookup::Known(None),
                Lookup::AskGit => return Lookup::AskGit,
            };
            match value {
                RefValue::Direct(id) => return Lookup::Known(Some(id)),
                RefValue::Symbolic(target) => name = target,
            }
        }
        Lookup::AskGit
    }

    /// What the ref `name` holds itself (not followed), loose first, then packed.
    pub(crate) fn read(&self, git_dir: &Path, name: &str) -> Lookup<Option<RefValue>> {
        if !is_plain_ref_name(name) {
            return Lookup::AskGit;
        }
        let dir = if is_per_worktree(name) {
            git_dir
        } else {
            &self.common
        };
        match read_ref_file(&dir.join(name)) {
            Lookup::Known(None) => {}
            found => return found,
        }
        if is_per_worktree(name) {
            return Lookup::Known(None);
        }
        self.packed(name)
    }

    /// The id `packed-refs` gives `name`, if it lists it.
    fn packed(&self, name: &str) -> Lookup<Option<RefValue>> {
        let path = self.common.join("packed-refs");
        let text = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Lookup::Known(None),
            Err(_) => return Lookup::AskGit,
        };
        let Ok(text) = String::from_utf8(text) else {
            return Lookup::AskGit;
        };
        for line in text.lines() {
            if line.starts_with('#') || line.starts_with('^') || line.is_empty() {
                continue;
            }
            let Some((id, reference)) = line.split_once(' ') else {
                return Lookup::AskGit;
            };
            if reference == name {
                return if is_object_id(id) {
                    Lookup::Known(Some(RefValue::Direct(id.to_string())))
                } else {
                    Lookup::AskGit
                };
            }
        }
        Lookup::Known(None)
    }

    /// The commit a branch-like revision names, the way `git rev-parse` finds a short name
    /// (`<git dir>/<name>`, `refs/<name>`, `refs/tags/<name>`, `refs/heads/<name>`, ...): only
    /// when the first match is a branch (`refs/heads/...`, a commit by git's rules) or `HEAD`;
    /// anything else (a tag to peel, a remote, an id, an expression) is git's to answer.
    /// `^{commit}` at the end is accepted (a branch always names a commit).
    pub(crate) fn branch_commit(&self, git_dir: &Path, rev: &str) -> Lookup<Option<String>> {
        let rev = rev.strip_suffix("^{commit}").unwrap_or(rev);
        if rev == "HEAD" {
            return self.resolve(git_dir, "HEAD");
        }
        if rev.starts_with("refs/heads/") {
            return self.resolve(git_dir, rev);
        }
        if !is_plain_ref_name(&format!("refs/heads/{rev}")) || rev.starts_with("refs/") {
            return Lookup::AskGit;
        }
        // git's order of places for a short name; only a branch found first is answered here.
        for earlier in [
            rev.to_string(),
            format!("refs/{rev}"),
            format!("refs/tags/{rev}"),
        ] {
            let found = if earlier == rev {
                // `<git dir>/<name>` (e.g. `ORIG_HEAD`): a file in the git directory, which
                // older git versions read for any name.
                read_ref_file(&git_dir.join(rev))
            } else {
                self.read(git_dir, &earlier)
            };
            match found {
                Lookup::Known(None) => {}
                _ => return Lookup::AskGit,
            }
        }
        match self.resolve(git_dir, &format!("refs/heads/{rev}")) {
            Lookup::Known(Some(id)) => Lookup::Known(Some(id)),
            // Not a branch: a remote-tracking ref, an id or an error, which git words.
            Lookup::Known(None) | Lookup::AskGit => Lookup::AskGit,
        }
    }
}

/// Whether the repository's `config` names a ref storage other than files
/// (`extensions.refStorage`), read leniently: any mention of it that is not `files` counts.
fn declares_other_ref_storage(common: &Path) -> bool {
    let Ok(config) = std::fs::read_to_string(common.join("config")) else {
        return false;
    };
    config.lines().any(|line| {
        let line = line.trim().to_ascii_lowercase();
        line.starts_with("refstorage") && !line.replace(' ', "").ends_with("=files")
    })
}

/// Reads one ref file: `Known(None)` when there is none (or a directory of refs stands there).
fn read_ref_file(path: &Path) -> Lookup<Option<RefValue>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound
                    | std::io::ErrorKind::IsADirectory
                    | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Lookup::Known(None);
        }
        Err(_) => return Lookup::AskGit,
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Lookup::AskGit;
    };
    let text = text.trim_end_matches(['\n', '\r']);
    if let Some(target) = text.strip_prefix("ref: ") {
        let target = target.trim();
        return if is_plain_ref_name(target) || target == "HEAD" {
            Lookup::Known(Some(RefValue::Symbolic(target.to_string())))
        } else {
            Lookup::AskGit
        };
    }
    if is_object_id(text) {
        return Lookup::Known(Some(RefValue::Direct(text.to_string())));
    }
    Lookup::AskGit
}

/// A full lowercase hex object id (SHA-1 or SHA-256).
pub(crate) fn is_object_id(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Refs git keeps per worktree (in the worktree's own git directory).
fn is_per_worktree(name: &str) -> bool {
    !name.starts_with("refs/")
        || name.starts_with("refs/bisect/")
        || name.starts_with("refs/worktree/")
        || name.starts_with("refs/rewritten/")
}

/// A name read here: `HEAD`, or `refs/...` whose components are ordinary (no `.` or `..`
/// component, nothing git's `check-ref-format` rejects or revision syntax would parse).
fn is_plain_ref_name(name: &str) -> bool {
    if name == "HEAD" {
        return true;
    }
    // git's rule is case-sensitive: `x.LOCK` is a fine name.
    let is_lock = |part: &str| part.strip_suffix(".lock").is_some();
    if !name.starts_with("refs/") || name.ends_with('/') || is_lock(name) {
        return false;
    }
    let bad_char = |c: char| {
        c.is_ascii_control()
            || matches!(
                c,
                ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\' | '@' | '{' | '}'
            )
    };
    if name.chars().any(bad_char) || name.contains("..") || name.contains("//") {
        return false;
    }
    name.split('/')
        .all(|part| !part.is_empty() && !part.starts_with('.') && !is_lock(part))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_repo::{TestRepo, git};

    fn git_out(dir: &Path, args: &[&str]) -> String {
        git(dir, args).trim().to_string()
    }

    #[test]
    fn loose_packed_and_symbolic_refs_resolve_like_git() {
        let t = TestRepo::new("main");
        let common = t.root.join(".git");
        let refs = Refs::open(&common).unwrap();
        let head = git_out(&t.root, &["rev-parse", "HEAD"]);
        assert_eq!(
            refs.resolve(&common, "HEAD"),
            Lookup::Known(Some(head.clone()))
        );
        assert_eq!(
            refs.head(&common),
            Lookup::Known(Some(RefValue::Symbolic("refs/heads/main".into())))
        );
        git(&t.root, &["branch", "packed-one"]);
        git(&t.root, &["pack-refs", "--all"]);
        assert!(!common.join("refs/heads/packed-one").exists());
        assert_eq!(
            refs.resolve(&common, "refs/heads/packed-one"),
            Lookup::Known(Some(head.clone()))
        );
        assert_eq!(
            refs.branch_commit(&common, "main^{commit}"),
            Lookup::Known(Some(head))
        );
        assert_eq!(
            refs.resolve(&common, "refs/heads/none"),
            Lookup::Known(None)
        );
    }

    #[test]
    fn a_tag_or_anything_but_a_branch_is_left_to_git() {
        let t = TestRepo::new("main");
        let common = t.root.join(".git");
        let refs = Refs::open(&common).unwrap();
        git(&t.root, &["tag", "-a", "-m", "t", "v1"]);
        git(&t.root, &["tag", "main"]);
        assert_eq!(refs.branch_commit(&common, "v1"), Lookup::AskGit);
        // A tag named like the branch comes first in git's order: git decides.
        assert_eq!(refs.branch_commit(&common, "main"), Lookup::AskGit);
        for rev in ["HEAD~1", "main@{1}", "-x", "a..b", "refs/tags/v1", "abc"] {
            assert_eq!(refs.branch_commit(&common, rev), Lookup::AskGit, "{rev}");
        }
    }

    #[test]
    fn reftable_repositories_are_left_to_git() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("refs")).unwrap();
        std::fs::create_dir_all(dir.path().join("reftable")).unwrap();
        assert!(Refs::open(dir.path()).is_none());
        let other = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(other.path().join("refs")).unwrap();
        std::fs::write(
            other.path().join("config"),
            "[extensions]\n\trefStorage = reftable\n",
        )
        .unwrap();
        assert!(Refs::open(other.path()).is_none());
    }

    #[test]
    fn garbage_in_a_ref_file_is_left_to_git() {
        let t = TestRepo::new("main");
        let common = t.root.join(".git");
        std::fs::write(common.join("refs/heads/odd"), "not an id\n").unwrap();
        let refs = Refs::open(&common).unwrap();
        assert_eq!(refs.resolve(&common, "refs/heads/odd"), Lookup::AskGit);
        assert_eq!(refs.resolve(&common, "refs/heads/../x"), Lookup::AskGit);
    }
}
