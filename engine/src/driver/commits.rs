//! After a stage that may write the worktree succeeds, its changes are committed on the run's
//! branch with a message from the workflow's template; commits the stage made by itself (an
//! agent that commits) are kept as they are. The commits are recorded with the attempt.

use std::path::PathBuf;

use engine_core::Task;
use engine_git::{Identity, Repo};
use engine_workflow::GitSettings;

/// Who commits when neither the workflow nor git's configuration says.
const FALLBACK_NAME: &str = "engine";
/// The fallback identity's email.
const FALLBACK_EMAIL: &str = "engine@localhost";

/// What a commit needs to know about the attempt.
#[derive(Debug, Clone)]
pub struct CommitSite {
    /// The repository.
    pub repo: Repo,
    /// The run's worktree.
    pub worktree: PathBuf,
    /// The workflow's `git:` settings.
    pub settings: GitSettings,
    /// The run.
    pub run_id: String,
    /// The task.
    pub task: Task,
    /// The stage.
    pub stage: String,
    /// The attempt.
    pub attempt: u32,
}

impl CommitSite {
    /// The branch's commit now (before the attempt runs).
    pub fn head(&self) -> Option<String> {
        self.repo.head_of(&self.worktree).ok()
    }

    /// Commits what the attempt left uncommitted and returns every commit it added since
    /// `before`, oldest first.
    pub fn commit(&self, before: Option<&str>, summary: &str) -> Result<Vec<String>, String> {
        let message = self.message(summary)?;
        let fallback = (!self.repo.has_identity(&self.worktree)).then(|| Identity {
            name: FALLBACK_NAME.into(),
            email: FALLBACK_EMAIL.into(),
        });
        let identity = |configured: &Option<(String, String)>| {
            configured
                .as_ref()
                .map(|(name, email)| Identity {
                    name: name.clone(),
                    email: email.clone(),
                })
                .or_else(|| fallback.clone())
        };
        self.repo
            .commit_all(
                &self.worktree,
                &message,
                identity(&self.settings.author).as_ref(),
                identity(&self.settings.committer).as_ref(),
            )
            .map_err(|e| format!("committing the stage's changes failed: {e}"))?;
        let Some(before) = before else {
            return Ok(Vec::new());
        };
        let after = self
            .repo
            .head_of(&self.worktree)
            .map_err(|e| e.to_string())?;
        self.repo
            .commits_between(&self.worktree, before, &after)
            .map_err(|e| e.to_string())
    }

    /// The commit message from the workflow's template.
    fn message(&self, summary: &str) -> Result<String, String> {
        let env = minijinja::Environment::new();
        let context = minijinja::context! {
            task => minijinja::context! {
                id => self.task.id.clone(),
                title => self.task.title.clone(),
                body => self.task.body.clone(),
                labels => self.task.labels.clone(),
            },
            run => minijinja::context! { id => self.run_id.clone() },
            stage => self.stage.clone(),
            attempt => self.attempt,
            summary => summary,
        };
        let text = env
            .render_str(&self.settings.commit_message, context)
            .map_err(|e| format!("git.commit.message template: {e}"))?;
        let text = text.trim();
        Ok(if text.is_empty() {
            format!("{} ({})", self.task.title, self.stage)
        } else {
            text.to_string()
        })
    }
}
