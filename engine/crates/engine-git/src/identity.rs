//! Whether git knows who is committing (`user.name`/`user.email` or the environment).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};

use crate::command::run_git;
use crate::repo::Repo;

/// Repositories (common git directories) where git was found to know the identity: asked once
/// per process. An identity that appears later is found then (a "no" is never remembered); one
/// removed while engine runs makes git's own commit fail with git's message.
static KNOWN: LazyLock<Mutex<HashSet<PathBuf>>> = LazyLock::new(Mutex::default);

impl Repo {
    /// True when git can make a commit in `worktree` without being told who the author and
    /// committer are (machines without a git identity, like fresh CI runners, cannot).
    pub fn has_identity(&self, worktree: &Path) -> bool {
        let key = self.git_common_dir().ok();
        let known = |key: &PathBuf| {
            KNOWN
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .contains(key)
        };
        if key.as_ref().is_some_and(known) {
            return true;
        }
        // Both questions at once: two git processes side by side instead of one after the
        // other (in line when no thread can be started).
        let knows =
            |var: &str| run_git(worktree, &["var", var]).is_ok_and(|out| out.status.success());
        let has = std::thread::scope(|scope| {
            let author = std::thread::Builder::new()
                .name("engine-git-identity".into())
                .spawn_scoped(scope, || knows("GIT_AUTHOR_IDENT"));
            let committer = knows("GIT_COMMITTER_IDENT");
            let author = match author {
                Ok(handle) => handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err(_) => knows("GIT_AUTHOR_IDENT"),
            };
            author && committer
        });
        if has && let Some(key) = key {
            KNOWN
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(key);
        }
        has
    }
}

#[cfg(test)]
mod tests {
    use crate::Repo;
    use crate::test_repo::TestRepo;

    #[test]
    fn a_configured_repository_has_an_identity() {
        let t = TestRepo::new("main");
        let repo = Repo::discover(&t.root).unwrap();
        assert!(repo.has_identity(&t.root));
    }
}
