//! Who the merge's commits are by when git cannot say: the engine's own commits fall back to
//! `engine <engine@localhost>` on a machine without `user.name`/`user.email` (a fresh CI
//! runner, a container), and so does the merge, for whichever of the author and the committer
//! git cannot name itself. A configured identity (or `GIT_AUTHOR_*`/`GIT_COMMITTER_*` in the
//! environment) always wins.
//!
//! `git commit-tree` runs first as it is; only when it fails does [`CommitTree`] ask git
//! (`git var`) which identities it cannot name, and retries with the fallback for those. Where
//! an identity is configured, that costs no command at all; git's own error messages are not
//! matched (they are translated with the user's `LANG`).

use engine_stage_sdk::StageError;

use crate::runner::{Git, Runner, git_failure};

/// The fallback name, as the engine's own commits use it.
pub const FALLBACK_NAME: &str = "engine";

/// The fallback email address, as the engine's own commits use it.
pub const FALLBACK_EMAIL: &str = "engine@localhost";

/// Extra environment for `git commit-tree`: the fallback identity for the committer, and for
/// the author unless `author_given` (a replayed commit keeps its own), when git has none.
pub fn fallback_env<R: Runner + ?Sized>(
    git: &Git<'_, R>,
    author_given: bool,
) -> Result<Vec<(String, String)>, StageError> {
    let knows = |var: &str| git.raw(&["var", var]).map(|out| out.success());
    let mut env = Vec::new();
    let mut fall_back = |role: &str| {
        env.push((format!("GIT_{role}_NAME"), FALLBACK_NAME.to_string()));
        env.push((format!("GIT_{role}_EMAIL"), FALLBACK_EMAIL.to_string()));
    };
    if !author_given && !knows("GIT_AUTHOR_IDENT")? {
        fall_back("AUTHOR");
    }
    if !knows("GIT_COMMITTER_IDENT")? {
        fall_back("COMMITTER");
    }
    Ok(env)
}

/// Runs `git commit-tree`, falling back to the engine's identity only when git cannot name the
/// author or committer. Keeps what it learned for the next commits of the same merge.
#[derive(Debug, Default)]
pub struct CommitTree {
    author_given: bool,
    /// The fallback environment, once git has been asked (empty: git knows both).
    fallback: Option<Vec<(String, String)>>,
}

impl CommitTree {
    /// For commits whose author comes from git (`author_given` false) or is given in the
    /// environment of each call (`author_given` true: only the committer can fall back).
    pub fn new(author_given: bool) -> Self {
        CommitTree {
            author_given,
            fallback: None,
        }
    }

    /// Runs `git <args>` (a `commit-tree`) with `env`; the new commit's id.
    pub fn run<R: Runner + ?Sized>(
        &mut self,
        git: &Git<'_, R>,
        args: &[&str],
        env: &[(String, String)],
    ) -> Result<String, StageError> {
        let mut full = env.to_vec();
        full.extend(self.fallback.iter().flatten().cloned());
        let out = git.raw_env(args, &full)?;
        if out.success() {
            return Ok(out.stdout.trim().to_string());
        }
        if self.fallback.is_some() {
            return Err(git_failure(args, &out));
        }
        let fallback = fallback_env(git, self.author_given)?;
        self.fallback = Some(fallback.clone());
        if fallback.is_empty() {
            // git can name both: the failure is something else.
            return Err(git_failure(args, &out));
        }
        full.extend(fallback);
        Ok(git.ok_env(args, &full)?.trim().to_string())
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::time::Duration;

    use super::*;
    use crate::runner::{Output, RunError};

    /// Answers `git var` with success and `git commit-tree` with a failure that is not about
    /// identities.
    #[derive(Default)]
    struct Broken {
        calls: RefCell<Vec<String>>,
    }

    impl Runner for Broken {
        fn run(
            &self,
            _program: &str,
            args: &[String],
            _env: &[(String, String)],
        ) -> Result<Output, RunError> {
            self.calls.borrow_mut().push(args.join(" "));
            let failed = args.first().map(String::as_str) == Some("commit-tree");
            Ok(Output {
                code: Some(if failed { 128 } else { 0 }),
                stdout: if failed { "" } else { "Ann <a@b> 1 +0000\n" }.to_string(),
                stderr: if failed { "fatal: disk full" } else { "" }.to_string(),
            })
        }

        fn sleep(&self, _duration: Duration) -> Result<(), RunError> {
            Ok(())
        }

        fn info(&self, _message: &str) {}

        fn warn(&self, _message: &str) {}
    }

    #[test]
    fn a_failure_that_is_not_about_identities_is_reported_without_a_retry() {
        let runner = Broken::default();
        let git = Git::new(&runner);
        let mut commit_tree = CommitTree::new(false);
        let err = commit_tree
            .run(&git, &["commit-tree", "t", "-m", "m"], &[])
            .unwrap_err();
        assert_eq!(
            err.message,
            "`git commit-tree t -m m` failed (exit 128): fatal: disk full"
        );
        assert_eq!(
            *runner.calls.borrow(),
            [
                "commit-tree t -m m",
                "var GIT_AUTHOR_IDENT",
                "var GIT_COMMITTER_IDENT"
            ]
        );
    }
}
