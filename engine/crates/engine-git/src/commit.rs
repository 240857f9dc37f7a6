//! Committing a run's changes on its branch, and questions about commit history.
//!
//! Commits are made inside the run's linked worktree with its own index, so the user's checkout
//! and index are never involved. Hooks (`pre-commit`, `commit-msg`...) run as they would for a
//! person committing in that worktree: a hook that fails makes [`Repo::commit_all`] fail with
//! git's message, and a hook that edits files changes what is committed.

use std::ffi::OsStr;
use std::path::Path;

use crate::GitError;
use crate::command::{run_git, run_git_with_env};
use crate::maintenance;
use crate::repo::{Repo, reject_option_like};

/// A person as git records them in a commit: `Name <email>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The name (`GIT_AUTHOR_NAME` / `GIT_COMMITTER_NAME`).
    pub name: String,
    /// The email address (`GIT_AUTHOR_EMAIL` / `GIT_COMMITTER_EMAIL`).
    pub email: String,
}

impl Identity {
    /// Refuses what git cannot record: an empty name or email, `<`, `>` or a line break.
    fn check(&self, what: &'static str) -> Result<(), GitError> {
        let bad = |text: &str| text.trim().is_empty() || text.contains(['<', '>', '\n', '\r']);
        if bad(&self.name) || bad(&self.email) {
            return Err(GitError::InvalidArgument {
                what,
                value: format!("{} <{}>", self.name, self.email),
                reason: "name and email must be non-empty, one line, without `<` or `>`",
            });
        }
        Ok(())
    }
}

impl Repo {
    /// Commits everything in `worktree` on its branch: `git add -A` (ignored files stay out:
    /// `.gitignore`, `info/exclude` and `core.excludesFile` apply), then `git commit` with
    /// `message` taken verbatim apart from surrounding blank lines and trailing spaces
    /// (`--cleanup=whitespace`: lines starting with `#` are kept).
    ///
    /// `author` and `committer`, when given, are passed as `GIT_AUTHOR_*` / `GIT_COMMITTER_*`
    /// environment variables; otherwise git's configuration decides (`user.name`,
    /// `user.email`...), and git fails if it has none. Hooks run (no `--no-verify`). git's
    /// automatic maintenance runs after the first commit in a repository and every 16th after it
    /// (see [`crate::maintenance`]), not after each one.
    ///
    /// Returns the new commit's id, or `Ok(None)` when there was nothing to commit. Only
    /// `worktree` and its own index are touched; the repository's main worktree (the user's
    /// checkout) is refused.
    pub fn commit_all(
        &self,
        worktree: &Path,
        message: &str,
        author: Option<&Identity>,
        committer: Option<&Identity>,
    ) -> Result<Option<String>, GitError> {
        if message.trim().is_empty() {
            return Err(GitError::InvalidArgument {
                what: "commit message",
                value: message.to_string(),
                reason: "must not be empty",
            });
        }
        if let Some(author) = author {
            author.check("commit author")?;
        }
        if let Some(committer) = committer {
            committer.check("commit committer")?;
        }
        self.refuse_main_worktree(worktree)?;
        run_git(worktree, &["add", "-A", "--", "."])?.success()?;
        // With hooks, git is asked first whether anything is staged: `git commit` would run the
        // pre-commit hook even when there is nothing to commit. Without, `git commit` itself
        // says so (in these words: engine's git runs with LC_ALL=C), one process fewer.
        let hooks = self.commit_may_run_hooks(worktree);
        if hooks {
            let staged = run_git(worktree, &["diff", "--cached", "--quiet", "--exit-code"])?;
            match staged.code() {
                Some(0) => return Ok(None),
                Some(1) => {}
                _ => return Err(staged.into_failure()),
            }
        }
        let mut env: Vec<(&str, &OsStr)> = Vec::new();
        if let Some(author) = author {
            env.push(("GIT_AUTHOR_NAME", author.name.as_ref()));
            env.push(("GIT_AUTHOR_EMAIL", author.email.as_ref()));
        }
        if let Some(committer) = committer {
            env.push(("GIT_COMMITTER_NAME", committer.name.as_ref()));
            env.push(("GIT_COMMITTER_EMAIL", committer.email.as_ref()));
        }
        // git's automatic maintenance runs after some of engine's commits, not all.
        let config = maintenance::commit_config(maintenance::commit_runs_maintenance(
            &self.git_common_dir()?,
        ));
        // `-m` takes the next argument as the message even when it starts with `-`.
        let args = [
            config,
            &["commit", "--quiet", "--cleanup=whitespace", "-m", message],
        ]
        .concat();
        let committed = run_git_with_env(worktree, &args, &env)?;
        if !hooks && committed.code() == Some(1) && nothing_to_commit(&committed.stdout) {
            return Ok(None);
        }
        committed.success()?;
        self.head_of(worktree).map(Some)
    }

    /// The commits reachable from `to` but not from `from`, oldest first (`git rev-list
    /// --reverse from..to`), run in `worktree` (any worktree of the repository gives the same
    /// answer). Lists the commits an agent made by itself as well as engine's.
    pub fn commits_between(
        &self,
        worktree: &Path,
        from: &str,
        to: &str,
    ) -> Result<Vec<String>, GitError> {
        reject_option_like("revision", from)?;
        reject_option_like("revision", to)?;
        let range = format!("{from}..{to}");
        let text = run_git(worktree, &["rev-list", "--reverse", &range, "--"])?.success_text()?;
        Ok(text.lines().map(str::to_string).collect())
    }

    /// Whether `commit` is `of` or one of its ancestors (`git merge-base --is-ancestor`). An
    /// unknown revision is an error.
    pub fn is_ancestor(&self, commit: &str, of: &str) -> Result<bool, GitError> {
        reject_option_like("revision", commit)?;
        reject_option_like("revision", of)?;
        let output = run_git(self.root(), &["merge-base", "--is-ancestor", commit, of])?;
        match output.code() {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(output.into_failure()),
        }
    }

    /// Deletes the local branch `name` (`git branch -d`, or `-D` when `force`: without force,
    /// git refuses a branch not merged into its upstream or the current HEAD). Refuses a branch
    /// checked out in any worktree.
    pub fn delete_branch(&self, name: &str, force: bool) -> Result<(), GitError> {
        reject_option_like("branch name", name)?;
        // No worktree may be added on the branch between the check and the deletion, and
        // `git branch` itself reads every worktree's HEAD.
        let _turn = self.worktree_turn()?;
        self.prune_worktrees()?;
        self.refuse_checked_out(name)?;
        let flag = if force { "-D" } else { "-d" };
        run_git(self.root(), &["branch", "--quiet", flag, name])?.success()?;
        Ok(())
    }

    /// Fails if `name` is the branch of any worktree.
    pub(crate) fn refuse_checked_out(&self, name: &str) -> Result<(), GitError> {
        if let Some(holder) = self
            .worktrees()?
            .into_iter()
            .find(|w| w.branch.as_deref() == Some(name) && !w.prunable)
        {
            return Err(GitError::WorktreeConflict {
                path: holder.path,
                detail: format!("has branch {name} checked out; refusing to delete it"),
            });
        }
        Ok(())
    }

    /// Fails if `worktree` is the repository's main worktree (the user's checkout).
    fn refuse_main_worktree(&self, worktree: &Path) -> Result<(), GitError> {
        let worktree = self.absolute(worktree);
        let main = self.worktrees()?.into_iter().next();
        if main.is_some_and(|m| crate::worktree::same_path(&m.path, &worktree)) {
            return Err(GitError::WorktreeConflict {
                path: worktree,
                detail: "is the main worktree (the user's checkout); engine commits only in \
                         run worktrees"
                    .to_string(),
            });
        }
        Ok(())
    }
}

/// Whether `git commit`'s output says there was nothing to commit.
fn nothing_to_commit(stdout: &[u8]) -> bool {
    let text = String::from_utf8_lossy(stdout);
    text.contains("nothing to commit") || text.contains("nothing added to commit")
}
