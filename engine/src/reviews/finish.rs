//! After a fix run ended: push the fix to the pull request's branch (once), then post the
//! replies GitHub does not have yet, keeping the record of [`super::journal`] up to date so that
//! a kill at any point is finished by the next `engine reviews`.

use engine_core::{RunState, RunStatus};
use engine_store::RunMeta;

use super::journal::{self, Pending};
use super::outcome::Verdict;
use super::process::Reviews;
use super::select::{Feedback, FeedbackKind, unanswered};
use super::text::{Done, reply};
use super::{ReviewsError, gh::Gh, push};
use crate::driver::debug_hold;

impl Reviews<'_> {
    /// After the fix run ended: nothing for a run that did not succeed or changed nothing;
    /// else push, then reply.
    pub(super) fn after_run(
        &self,
        mut pending: Pending,
        meta: &RunMeta,
        state: &RunState,
    ) -> Result<Verdict, ReviewsError> {
        let state_dir = self.holding.state_dir.path();
        let run_id = pending.run_id.clone();
        let message = match &state.status {
            RunStatus::Succeeded => None,
            RunStatus::Failed { stage, message } => Some(format!("stage {stage}: {message}")),
            RunStatus::Cancelled { reason } => Some(reason.clone()),
            RunStatus::NeedsAttention { stage, reason } => Some(format!("stage {stage}: {reason}")),
            RunStatus::Pending | RunStatus::Running => {
                return Ok(Verdict::Interrupted { run_id });
            }
        };
        if let Some(message) = message {
            journal::remove(state_dir, pending.pr)?;
            return Ok(Verdict::RunEnded {
                run_id,
                status: state.status.name().to_string(),
                message,
            });
        }
        let repo = &self.holding.repo;
        let tip = repo.rev_parse(&format!("refs/heads/{}^{{commit}}", meta.branch))?;
        if tip == pending.start {
            journal::remove(state_dir, pending.pr)?;
            return Ok(Verdict::NoChange { run_id });
        }
        let pushed_now = match &pending.pushed {
            Some(_) => false,
            None => match push::push(repo, &pending.remote, &pending.branch, &tip) {
                Ok(pushed) => pushed,
                Err(e) => {
                    journal::remove(state_dir, pending.pr)?;
                    return Ok(Verdict::Error {
                        message: format!(
                            "the fix of run {run_id} could not be pushed to {} ({e}); nothing \
                             was replied; the fix stays on the local branch {}",
                            pending.branch, meta.branch
                        ),
                    });
                }
            },
        };
        debug_hold::at("reviews-pushed");
        if pending.pushed.is_none() {
            pending.pushed = Some(tip.clone());
            journal::save(state_dir, &pending)?;
        }
        let (subjects, files) = push::what_was_done(repo, &pending.start, &tip)?;
        let done = Done {
            commit: tip.clone(),
            run_id: run_id.clone(),
            subjects,
            files,
        };
        let replies = match self.reply_all(&pending, &done) {
            Ok(replies) => replies,
            Err(e) => {
                return Ok(Verdict::Error {
                    message: format!(
                        "the fix {} is pushed but replying failed ({e}); `engine reviews` \
                         again posts the missing replies",
                        &tip[..tip.len().min(12)]
                    ),
                });
            }
        };
        journal::remove(state_dir, pending.pr)?;
        Ok(Verdict::Fixed {
            run_id,
            commit: tip,
            pushed: pushed_now,
            replies,
            feedback: pending.feedback,
        })
    }

    /// Posts the replies GitHub does not have yet; how many it posted.
    fn reply_all(&self, pending: &Pending, done: &Done) -> Result<usize, ReviewsError> {
        let still: Vec<(FeedbackKind, u64)> = unanswered(&self.gh.conversation(pending.pr)?)
            .iter()
            .map(|f| (f.kind, f.id))
            .collect();
        let mut posted = 0;
        for item in &pending.feedback {
            if !still.contains(&(item.kind, item.id)) {
                continue;
            }
            post(&self.gh, pending.pr, item, &reply(item, done))?;
            posted += 1;
        }
        Ok(posted)
    }
}

fn post(gh: &Gh, pr: u64, item: &Feedback, text: &str) -> Result<(), ReviewsError> {
    match (item.kind, item.thread) {
        (FeedbackKind::Comment, Some(thread)) => gh.reply_to_comment(pr, thread, text),
        (FeedbackKind::Comment, None) => gh.reply_to_comment(pr, item.id, text),
        (FeedbackKind::Review, _) => gh.comment_on_pr(pr, text),
    }
}
