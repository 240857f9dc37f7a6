//! One administrative directory of a linked worktree (`<common dir>/worktrees/<id>`), read
//! from its files: what it registers, whether it is whole, locked or prunable.

use std::path::{Path, PathBuf};

use crate::worktree::{CREATING_REASON, GIT_INITIALIZING_REASON};

/// What one administrative directory (`<common>/worktrees/<id>`) holds.
#[derive(Debug)]
pub(crate) struct AdminDir {
    /// The directory.
    pub(crate) dir: PathBuf,
    /// The worktree it registers (its `gitdir` file without the trailing `/.git`), if readable.
    pub(crate) worktree: Option<PathBuf>,
    /// Whether `gitdir` exists with content.
    pub(crate) has_gitdir: bool,
    /// `commondir`: None when missing, Some("") when empty.
    pub(crate) commondir: Option<String>,
    /// Whether `HEAD` exists with content.
    pub(crate) has_head: bool,
    /// The reason in `locked`, if locked.
    pub(crate) locked: Option<String>,
}

impl AdminDir {
    /// Reads the files of the administrative directory `dir`.
    pub(crate) fn read(dir: &Path) -> AdminDir {
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
        let gitdir = read("gitdir").map(|g| g.trim_end_matches(['\n', '\r']).to_string());
        let worktree = gitdir.as_deref().filter(|g| !g.is_empty()).map(|g| {
            // Relative with `worktree.useRelativePaths`: then relative to this directory.
            let g = if Path::new(g).is_absolute() {
                PathBuf::from(g)
            } else {
                let joined = dir.join(g);
                joined.canonicalize().unwrap_or(joined)
            };
            if g.file_name().is_some_and(|n| n == ".git") {
                g.parent().map_or_else(|| g.clone(), Path::to_path_buf)
            } else {
                g
            }
        });
        AdminDir {
            dir: dir.to_path_buf(),
            has_gitdir: worktree.is_some(),
            worktree,
            commondir: read("commondir").map(|c| c.trim().to_string()),
            has_head: read("HEAD").is_some_and(|h| !h.trim().is_empty()),
            locked: read("locked").map(|l| l.trim().to_string()),
        }
    }

    /// Why this registration is the leftover of a `git worktree add` that never finished.
    pub(crate) fn half_made(&self) -> Option<&'static str> {
        match self.locked.as_deref() {
            Some(CREATING_REASON) => return Some("still locked as being created"),
            Some(GIT_INITIALIZING_REASON) => return Some("still locked by git as initializing"),
            Some(crate::pool::CLAIMING_REASON) => {
                return Some("still locked as being claimed from the worktree pool");
            }
            _ => {}
        }
        if !self.has_gitdir {
            return Some("no gitdir file");
        }
        if self.commondir.as_deref().is_none_or(str::is_empty) {
            return Some("no commondir");
        }
        if !self.has_head {
            return Some("no HEAD");
        }
        None
    }

    /// Why `git worktree prune` would remove this registration (git's own rules, without the
    /// expiry: a lock keeps it; a missing or empty `gitdir`, or one naming a place that is gone,
    /// does not).
    pub(crate) fn prune_reason(&self) -> Option<&'static str> {
        if self.dir.join("locked").exists() {
            return None;
        }
        let Some(worktree) = &self.worktree else {
            return Some("no usable gitdir file");
        };
        (!worktree.join(".git").exists()).then_some("its worktree is gone")
    }

    /// Why this registration makes `git worktree list`, `git gc`... fail for the whole
    /// repository (`failed to read .../commondir`).
    pub(crate) fn breaks_git(&self) -> Option<&'static str> {
        (self.commondir.as_deref() == Some("")).then_some("its commondir file is empty")
    }

    /// Whether git named this directory after a worktree called `name` (`name`, or `name`
    /// followed by digits when that was taken).
    pub(crate) fn named_after(&self, name: &str) -> bool {
        let Some(own) = self
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
        else {
            return false;
        };
        own.strip_prefix(name)
            .is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_digit()))
    }
}
