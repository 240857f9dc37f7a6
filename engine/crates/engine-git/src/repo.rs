//! A repository: discovery, refs, branches and the exclude file.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::GitError;
use crate::command::{admin_dir_of, register_common_dir, run_git};
use crate::refs::{Lookup, RefValue, Refs};

/// How many numbered suffixes [`Repo::unique_branch_name`] tries before giving up.
const MAX_BRANCH_SUFFIX: u32 = 10_000;

/// A git repository's working tree, found by [`Repo::discover`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    root: PathBuf,
    /// The common git directory, as `git rev-parse --git-common-dir` named it at discovery.
    common_dir: PathBuf,
    /// The refs, read in-process (`None`: a ref storage only git reads).
    refs: Option<Refs>,
    /// Whether `root` is the main worktree (its `.git` is the common directory).
    root_is_main: bool,
}

impl Repo {
    /// Finds the repository containing `start` (a directory, or a file whose directory is
    /// used), via `git rev-parse --show-toplevel`.
    pub fn discover(start: &Path) -> Result<Repo, GitError> {
        let dir = if start.is_file() {
            start.parent().unwrap_or(start)
        } else {
            start
        };
        if !dir.is_dir() {
            return Err(GitError::NotARepo(start.to_path_buf()));
        }
        let output = match run_git(
            dir,
            &[
                "rev-parse",
                "--path-format=absolute",
                "--show-toplevel",
                "--git-common-dir",
            ],
        ) {
            Ok(output) => output,
            // A run worktree whose repository metadata is gone belongs to no repository: its
            // `.git` file is not followed (see `command`).
            Err(GitError::WorktreeConflict { .. }) => {
                return Err(GitError::NotARepo(start.to_path_buf()));
            }
            Err(e) => return Err(e),
        };
        if !output.status.success() {
            if output.stderr.contains("not a git repository")
                || output.stderr.contains("must be run in a work tree")
            {
                return Err(GitError::NotARepo(start.to_path_buf()));
            }
            return Err(output.into_failure());
        }
        let text = output.text()?;
        let mut lines = text.lines();
        let root = lines.next().unwrap_or_default();
        if root.is_empty() {
            return Err(GitError::NotARepo(start.to_path_buf()));
        }
        let root = PathBuf::from(root);
        let common_dir = match lines.next().filter(|dir| !dir.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => root.join(".git"),
        };
        register_common_dir(&common_dir);
        let absolute_common = if common_dir.is_absolute() {
            common_dir.clone()
        } else {
            root.join(&common_dir)
        };
        let root_is_main = root.join(".git").is_dir()
            && crate::worktree::same_path(&root.join(".git"), &absolute_common);
        Ok(Repo {
            refs: Refs::open(&absolute_common),
            root,
            common_dir,
            root_is_main,
        })
    }

    /// Whether the root is the repository's main worktree (not a linked one).
    pub(crate) fn root_is_main(&self) -> bool {
        self.root_is_main
    }

    /// Whether refs are files engine reads and writes itself (not a storage only git reads).
    pub(crate) fn refs_read_in_process(&self) -> bool {
        self.refs.is_some()
    }

    /// The in-process ref reader and the git directory of the root's worktree, when both are
    /// known without asking git.
    pub(crate) fn root_refs(&self) -> Option<(&Refs, PathBuf)> {
        let refs = self.refs.as_ref()?;
        if self.root_is_main {
            return Some((refs, self.git_common_dir().ok()?));
        }
        let admin = admin_dir_of(&self.root).ok().flatten()?;
        Some((refs, admin))
    }

    /// The in-process ref reader and the git directory of `worktree` (the root, or a linked
    /// worktree registered in this repository).
    pub(crate) fn worktree_refs(&self, worktree: &Path) -> Option<(&Refs, PathBuf)> {
        let worktree = self.absolute(worktree);
        if crate::worktree::same_path(&worktree, &self.root) {
            return self.root_refs();
        }
        let refs = self.refs.as_ref()?;
        let admin = admin_dir_of(&worktree).ok().flatten()?;
        Some((refs, admin))
    }

    /// The top of the working tree (absolute).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The repository's common git directory (`.git` of the main worktree), absolute.
    pub fn git_common_dir(&self) -> Result<PathBuf, GitError> {
        Ok(if self.common_dir.is_absolute() {
            self.common_dir.clone()
        } else {
            self.root.join(&self.common_dir)
        })
    }

    /// Takes this repository's worktree turn (see [`crate::turn`]): held while engine lists,
    /// adds, repairs, prunes or removes worktrees, so that neither its own parallel runs nor
    /// another engine process in the same repository see a worktree half-way through.
    pub(crate) fn worktree_turn(&self) -> Result<crate::turn::WorktreeTurn, GitError> {
        crate::turn::take(&self.git_common_dir()?)
    }

    /// The administrative directory (`<common dir>/worktrees/<id>`) of the linked worktree whose
    /// top level is `worktree`, found from the repository's side (its `worktrees/*/gitdir`
    /// files), never from the worktree's `.git` file, which whatever runs in the worktree can
    /// rewrite. Every git command engine runs in that worktree is pinned to it (`GIT_DIR`,
    /// `GIT_WORK_TREE`).
    pub fn worktree_git_dir(&self, worktree: &Path) -> Result<PathBuf, GitError> {
        let worktree = self.absolute(worktree);
        admin_dir_of(&worktree)?.ok_or_else(|| GitError::WorktreeConflict {
            path: worktree,
            detail: "is not a linked worktree of this repository".to_string(),
        })
    }

    /// Checks that `worktree`'s `.git` is still the file git wrote (`gitdir: <admin dir>`) and
    /// restores it when it is not (rewritten, removed, replaced by a directory or a symlink).
    /// Returns what was found instead, `None` when it was intact.
    pub fn check_worktree_link(&self, worktree: &Path) -> Result<Option<String>, GitError> {
        let worktree = self.absolute(worktree);
        let admin = self.worktree_git_dir(&worktree)?;
        let dot_git = worktree.join(".git");
        let found = match std::fs::symlink_metadata(&dot_git) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => "nothing".to_string(),
            Err(source) => {
                return Err(GitError::Io {
                    op: "reading",
                    path: dot_git,
                    source,
                });
            }
            Ok(meta) if meta.is_dir() => "a directory".to_string(),
            Ok(meta) if meta.file_type().is_symlink() => "a symbolic link".to_string(),
            Ok(_) => {
                let bytes = std::fs::read(&dot_git).map_err(|source| GitError::Io {
                    op: "reading",
                    path: dot_git.clone(),
                    source,
                })?;
                let text = String::from_utf8_lossy(&bytes);
                let named = text
                    .strip_prefix("gitdir: ")
                    .filter(|rest| !rest.trim_end().contains('\n'))
                    .map(|rest| worktree.join(rest.trim_end()));
                if named.is_some_and(|named| named.canonicalize().ok().as_ref() == Some(&admin)) {
                    return Ok(None);
                }
                let shown: String = text.chars().take(200).collect();
                format!("{:?}", shown.trim_end())
            }
        };
        let io = |op: &'static str| {
            let path = dot_git.clone();
            move |source| GitError::Io { op, path, source }
        };
        match std::fs::symlink_metadata(&dot_git) {
            Ok(meta) if meta.is_dir() => {
                std::fs::remove_dir_all(&dot_git).map_err(io("removing"))?;
            }
            Ok(_) => std::fs::remove_file(&dot_git).map_err(io("removing"))?,
            Err(_) => {}
        }
        let mut line = b"gitdir: ".to_vec();
        line.extend_from_slice(admin.as_os_str().as_encoded_bytes());
        line.push(b'\n');
        std::fs::write(&dot_git, line).map_err(io("writing"))?;
        Ok(Some(found))
    }

    /// Whether any file at or under `rel` (relative to the root) is in the index.
    pub fn is_tracked(&self, rel: &Path) -> Result<bool, GitError> {
        let rel = rel.as_os_str();
        let output = run_git(
            &self.root,
            &[
                "--literal-pathspecs".as_ref(),
                "ls-files".as_ref(),
                "-z".as_ref(),
                "--".as_ref(),
                rel,
            ],
        )?
        .success()?;
        Ok(!output.stdout.is_empty())
    }

    /// Adds `pattern` as a line of `<common dir>/info/exclude` unless a line already says
    /// exactly that. Never edits `.gitignore`.
    pub fn ensure_excluded(&self, pattern: &str) -> Result<(), GitError> {
        let pattern_trimmed = pattern.trim();
        if pattern_trimmed.is_empty() || pattern.contains(['\n', '\r']) {
            return Err(GitError::InvalidArgument {
                what: "exclude pattern",
                value: pattern.to_string(),
                reason: "must be one non-empty line",
            });
        }
        let info = self.git_common_dir()?.join("info");
        std::fs::create_dir_all(&info).map_err(|source| GitError::Io {
            op: "creating",
            path: info.clone(),
            source,
        })?;
        let exclude = info.join("exclude");
        let existing = match std::fs::read_to_string(&exclude) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(GitError::Io {
                    op: "reading",
                    path: exclude,
                    source,
                });
            }
        };
        if existing.lines().any(|line| line.trim() == pattern_trimmed) {
            return Ok(());
        }
        let mut addition = String::new();
        if !existing.is_empty() && !existing.ends_with('\n') {
            addition.push('\n');
        }
        addition.push_str(pattern_trimmed);
        addition.push('\n');
        let io_err = |source| GitError::Io {
            op: "writing",
            path: exclude.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&exclude)
            .map_err(io_err)?;
        file.write_all(addition.as_bytes()).map_err(io_err)?;
        Ok(())
    }

    /// The checked-out branch's short name; `None` when HEAD is detached.
    pub fn current_branch(&self) -> Result<Option<String>, GitError> {
        if let Some((refs, git_dir)) = self.root_refs() {
            match refs.head(&git_dir) {
                Lookup::Known(Some(RefValue::Direct(_))) => return Ok(None),
                Lookup::Known(Some(RefValue::Symbolic(target))) => {
                    if let Some(branch) = target.strip_prefix("refs/heads/") {
                        return Ok(Some(branch.to_string()));
                    }
                }
                Lookup::Known(None) | Lookup::AskGit => {}
            }
        }
        let output = run_git(&self.root, &["symbolic-ref", "--quiet", "--short", "HEAD"])?;
        match output.code() {
            Some(0) => Ok(Some(output.text()?.trim_end_matches('\n').to_string())),
            Some(1) => Ok(None),
            _ => Err(output.into_failure()),
        }
    }

    /// The branch runs start from when neither the command line nor the workflow names one:
    /// the branch `origin/HEAD` points to, else `main`, else `master`, else (last resort, for
    /// repositories with none of those) the checked-out branch — the first that exists as a
    /// local branch.
    pub fn default_base_branch(&self) -> Result<String, GitError> {
        let mut candidates = Vec::new();
        if let Some(origin) = self.origin_head_branch()? {
            candidates.push(origin);
        }
        candidates.push("main".to_string());
        candidates.push("master".to_string());
        if let Some(current) = self.current_branch()?
            && !candidates.contains(&current)
        {
            candidates.push(current);
        }
        for candidate in &candidates {
            if self.branch_exists(candidate)? {
                return Ok(candidate.clone());
            }
        }
        Err(GitError::NoBaseBranch {
            tried: candidates.join(", "),
        })
    }

    /// The branch `refs/remotes/origin/HEAD` points to (`main` for `origin/main`), if set.
    fn origin_head_branch(&self) -> Result<Option<String>, GitError> {
        if let Some((refs, git_dir)) = self.root_refs() {
            match refs.read(&git_dir, "refs/remotes/origin/HEAD") {
                Lookup::Known(None | Some(RefValue::Direct(_))) => return Ok(None),
                Lookup::Known(Some(RefValue::Symbolic(target))) => {
                    return Ok(target
                        .strip_prefix("refs/remotes/origin/")
                        .filter(|name| !name.is_empty())
                        .map(str::to_string));
                }
                Lookup::AskGit => {}
            }
        }
        let output = run_git(
            &self.root,
            &["symbolic-ref", "--quiet", "refs/remotes/origin/HEAD"],
        )?;
        match output.code() {
            Some(0) => {
                let text = output.text()?;
                Ok(text
                    .trim_end_matches('\n')
                    .strip_prefix("refs/remotes/origin/")
                    .filter(|name| !name.is_empty())
                    .map(str::to_string))
            }
            // 1: not a symbolic ref; 128: does not exist.
            Some(1 | 128) => Ok(None),
            _ => Err(output.into_failure()),
        }
    }

    /// The full object id `rev` names.
    pub fn rev_parse(&self, rev: &str) -> Result<String, GitError> {
        reject_option_like("revision", rev)?;
        if let Some((refs, git_dir)) = self.root_refs()
            && let Lookup::Known(Some(id)) = refs.branch_commit(&git_dir, rev)
        {
            return Ok(id);
        }
        let output = run_git(&self.root, &["rev-parse", "--verify", "--quiet", rev])?;
        match output.code() {
            Some(0) => Ok(output.text()?.trim_end_matches('\n').to_string()),
            Some(1) => Err(GitError::UnknownRevision(rev.to_string())),
            _ => Err(output.into_failure()),
        }
    }

    /// The diff of `branch` against `base` (`git diff base...branch`: what the branch changed
    /// since they parted), as text cut at `max_bytes` (on a character boundary); `true` when
    /// cut. A branch that no longer exists (merged and removed): an empty diff.
    pub fn diff_text(
        &self,
        base: &str,
        branch: &str,
        max_bytes: usize,
    ) -> Result<(String, bool), GitError> {
        reject_option_like("revision", base)?;
        reject_option_like("branch name", branch)?;
        if !self.branch_exists(branch)? {
            return Ok((String::new(), false));
        }
        let range = format!("{base}...refs/heads/{branch}");
        let output = run_git(
            &self.root,
            &[
                "diff",
                "--no-color",
                "--no-ext-diff",
                "--no-textconv",
                &range,
                "--",
            ],
        )?;
        if output.code() != Some(0) {
            return Err(output.into_failure());
        }
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        if text.len() <= max_bytes {
            return Ok((text, false));
        }
        text.truncate(text.floor_char_boundary(max_bytes));
        Ok((text, true))
    }

    /// Whether the local branch `refs/heads/<name>` exists.
    pub fn branch_exists(&self, name: &str) -> Result<bool, GitError> {
        reject_option_like("branch name", name)?;
        let reference = format!("refs/heads/{name}");
        if let Some((refs, git_dir)) = self.root_refs() {
            match refs.read(&git_dir, &reference) {
                Lookup::Known(None) => return Ok(false),
                Lookup::Known(Some(RefValue::Direct(_))) => return Ok(true),
                Lookup::Known(Some(RefValue::Symbolic(_))) | Lookup::AskGit => {}
            }
        }
        let output = run_git(&self.root, &["show-ref", "--verify", "--quiet", &reference])?;
        match output.code() {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(output.into_failure()),
        }
    }

    /// `base_name` if no such branch exists, else `base_name-2`, `base_name-3`...
    pub fn unique_branch_name(&self, base_name: &str) -> Result<String, GitError> {
        if !self.branch_exists(base_name)? {
            return Ok(base_name.to_string());
        }
        for n in 2..=MAX_BRANCH_SUFFIX {
            let candidate = format!("{base_name}-{n}");
            if !self.branch_exists(&candidate)? {
                return Ok(candidate);
            }
        }
        Err(GitError::InvalidArgument {
            what: "branch name",
            value: base_name.to_string(),
            reason: "every numbered variant is taken",
        })
    }
}

/// Refuses arguments git would parse as options.
pub(crate) fn reject_option_like(what: &'static str, value: &str) -> Result<(), GitError> {
    if value.is_empty() || value.starts_with('-') {
        return Err(GitError::InvalidArgument {
            what,
            value: value.to_string(),
            reason: "must be non-empty and not start with `-`",
        });
    }
    Ok(())
}
