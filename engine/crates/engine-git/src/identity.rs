//! Whether git knows who is committing (`user.name`/`user.email` or the environment).

use std::path::Path;

use crate::command::run_git;
use crate::repo::Repo;

impl Repo {
    /// True when git can make a commit in `worktree` without being told who the author and
    /// committer are (machines without a git identity, like fresh CI runners, cannot).
    pub fn has_identity(&self, worktree: &Path) -> bool {
        ["GIT_AUTHOR_IDENT", "GIT_COMMITTER_IDENT"]
            .iter()
            .all(|var| run_git(worktree, &["var", var]).is_ok_and(|out| out.status.success()))
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
