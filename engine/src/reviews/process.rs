//! `engine reviews` from start to end: finish what an interrupted invocation left (see
//! [`super::journal`]), list the open pull requests, pick engine's ones with unanswered
//! feedback, and for each run the fix pipeline from the PR's head commit, push the fix to the
//! PR's branch and reply to each piece of feedback.

use std::path::PathBuf;
use std::sync::Arc;

use engine_store::Store;

use super::journal::{self, Pending};
use super::model::PullRequest;
use super::outcome::{PrOutcome, Verdict};
use super::select::{is_engine_pr, unanswered};
use super::text::{MAX_FEEDBACK, fix_task};
use super::{ReviewsError, gh::Gh, push};
use crate::EngineError;
use crate::control::Holding;
use crate::project::PreparedWorkflow;
use crate::queue::{Begun, Lifecycle, LifecycleSetup, RunRequest, Started, driving, resumable};
use crate::report::Reporter;

/// What `engine reviews` was asked.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only say what would be done.
    pub list: bool,
    /// Only this pull request (handled even when engine did not open it).
    pub pr: Option<u64>,
    /// Also pull requests engine did not open.
    pub include_foreign: bool,
    /// Also feedback from people without write access to the repository.
    pub any_author: bool,
    /// The git remote the PRs' branches are fetched from and pushed to.
    pub remote: String,
}

/// What answering reviews works with.
pub struct Reviews<'a> {
    /// The held state directory, the repository, the host and the clock.
    pub holding: &'a Holding,
    /// The fix pipeline.
    pub prepared: Arc<PreparedWorkflow>,
    /// Its file.
    pub workflow_file: PathBuf,
    /// Who hears about progress.
    pub reporter: Arc<dyn Reporter>,
    /// `gh` in the repository.
    pub gh: Gh,
}

impl Reviews<'_> {
    /// Answers the reviews as `options` ask; one outcome per pull request looked at.
    pub async fn run(&self, options: &Options) -> Result<Vec<PrOutcome>, ReviewsError> {
        let state_dir = self.holding.state_dir.path().to_path_buf();
        let mut outcomes = Vec::new();
        let mut finished = Vec::new();
        for pr in journal::pending_prs(&state_dir)? {
            if options.pr.is_some_and(|wanted| wanted != pr) {
                continue;
            }
            let Some(pending) = journal::load(&state_dir, pr)? else {
                continue;
            };
            let verdict = if options.list {
                Verdict::Pending {
                    run_id: pending.run_id.clone(),
                    pushed: pending.pushed.clone(),
                }
            } else {
                self.reporter.message(&format!(
                    "PR #{pr}: finishing the answer run {} began",
                    pending.run_id
                ));
                Box::pin(self.resume(pending.clone())).await?
            };
            let stop = matches!(verdict, Verdict::Interrupted { .. });
            outcomes.push(PrOutcome {
                pr,
                branch: pending.branch,
                engine_pr: None,
                verdict,
            });
            finished.push(pr);
            if stop {
                return Ok(outcomes);
            }
        }
        let prs = match options.pr {
            Some(number) => vec![self.gh.pr(number)?],
            None => self.gh.open_prs()?,
        };
        let prefix = &self.prepared.loaded.git.branch_prefix;
        for pr in prs {
            if finished.contains(&pr.number) {
                continue;
            }
            let engine_pr = is_engine_pr(&pr, prefix);
            let verdict = match self.decide(&pr, engine_pr, options) {
                Ok(Some(verdict)) => verdict,
                Ok(None) => Box::pin(self.answer(&pr, options)).await?,
                Err(e) => Verdict::Error {
                    message: e.to_string(),
                },
            };
            let stop = matches!(verdict, Verdict::Interrupted { .. });
            outcomes.push(PrOutcome {
                pr: pr.number,
                branch: crate::terminal::safe(&pr.head_ref_name).into_owned(),
                engine_pr: Some(engine_pr),
                verdict,
            });
            if stop {
                break;
            }
        }
        Ok(outcomes)
    }

    /// Why `pr` is left alone, if it is.
    fn decide(
        &self,
        pr: &PullRequest,
        engine_pr: bool,
        options: &Options,
    ) -> Result<Option<Verdict>, ReviewsError> {
        let skip = |reason: String| Ok(Some(Verdict::Skipped { reason }));
        if let Some(state) = pr.state.as_deref().filter(|s| *s != "OPEN") {
            return skip(format!("it is {}", state.to_lowercase()));
        }
        if !engine_pr && !options.include_foreign && options.pr.is_none() {
            return skip(format!(
                "not opened by engine (its branch does not start with {:?} or its description \
                 has no `Engine-Run:` line); --include-foreign or --pr {} to answer it anyway",
                self.prepared.loaded.git.branch_prefix, pr.number
            ));
        }
        if pr.is_cross_repository {
            return skip("its head branch is in a fork: engine cannot push there".into());
        }
        if let Err(why) = push::check_branch(&pr.head_ref_name) {
            return skip(crate::terminal::safe(&why).into_owned());
        }
        Ok(None)
    }

    /// Fixes `pr`'s unanswered feedback (or, with `--list`, says it would).
    async fn answer(&self, pr: &PullRequest, options: &Options) -> Result<Verdict, ReviewsError> {
        let mut feedback = match self.gh.conversation(pr.number) {
            Ok(conversation) => unanswered(&conversation),
            Err(e) => return Ok(error(&e)),
        };
        let before = feedback.len();
        feedback.retain(|f| options.any_author || f.trusted);
        if feedback.len() < before && !options.list {
            self.reporter.message(&format!(
                "PR #{}: leaving out {} comment(s) by people without write access to the \
                 repository (--any-author takes them too)",
                pr.number,
                before - feedback.len()
            ));
        }
        if feedback.is_empty() {
            return Ok(Verdict::NothingToDo);
        }
        if options.list {
            return Ok(Verdict::WouldFix { feedback });
        }
        if feedback.len() > MAX_FEEDBACK {
            self.reporter.message(&format!(
                "PR #{}: {} review comments; this run takes the first {MAX_FEEDBACK}",
                pr.number,
                feedback.len()
            ));
            feedback.truncate(MAX_FEEDBACK);
        }
        let repo = &self.holding.repo;
        let branch = &pr.head_ref_name;
        let start = match push::fetch(repo, &options.remote, branch) {
            Ok(start) => start,
            Err(e) => return Ok(error(&e)),
        };
        if !pr.head_ref_oid.is_empty() && pr.head_ref_oid != start {
            return Ok(Verdict::Error {
                message: format!(
                    "{branch} is at {start} on remote {} but the PR's head is {}: the PR's \
                     branch is not on that remote (give --remote) or it just moved (run again)",
                    options.remote,
                    crate::terminal::safe(&pr.head_ref_oid)
                ),
            });
        }
        self.reporter.message(&format!(
            "PR #{}: fixing {} review comment(s) on {branch}",
            pr.number,
            feedback.len()
        ));
        let lifecycle = self.lifecycle(Some(push::tracking_ref(&options.remote, branch)));
        let started = match lifecycle
            .begin(RunRequest::Inline(fix_task(pr, &feedback)))
            .await?
        {
            Begun::Run(started) => *started,
            Begun::Refused(why) => return Ok(Verdict::Error { message: why }),
        };
        let pending = Pending {
            pr: pr.number,
            branch: branch.clone(),
            remote: options.remote.clone(),
            start: started.meta.base_commit.clone(),
            run_id: started.meta.run_id.clone(),
            feedback,
            pushed: None,
        };
        journal::save(self.holding.state_dir.path(), &pending)?;
        Box::pin(self.drive(&lifecycle, started, pending)).await
    }

    /// Goes on with an answer an earlier invocation began: its run (driven on if it did not
    /// end), its push, its replies.
    async fn resume(&self, pending: Pending) -> Result<Verdict, ReviewsError> {
        let store = self.holding.state_dir.store();
        let Some(record) = store.load(&pending.run_id).map_err(EngineError::from)? else {
            journal::remove(self.holding.state_dir.path(), pending.pr)?;
            return Ok(Verdict::Error {
                message: format!(
                    "its fix run {} is gone from the state directory; its record was dropped",
                    pending.run_id
                ),
            });
        };
        if record.state.status.is_terminal() {
            return self.after_run(pending, &record.meta, &record.state);
        }
        let lifecycle = self.lifecycle(None);
        let h = self.holding;
        let taken = driving::claim(&pending.run_id)?;
        let resumed = resumable(
            &h.repo,
            store,
            &h.host,
            &pending.run_id,
            h.clock.as_ref(),
            self.reporter.as_ref(),
        )
        .await?;
        let Ok(r) = resumed else {
            drop(taken);
            return self.after_run(pending, &record.meta, &record.state);
        };
        let started = Started {
            prepared: Some(r.prepared),
            meta: r.meta,
            state: r.state,
            first: r.first,
            driving: Some(taken),
        };
        Box::pin(self.drive(&lifecycle, started, pending)).await
    }

    /// Drives the fix run to its end, then pushes and replies.
    async fn drive(
        &self,
        lifecycle: &Lifecycle,
        started: Started,
        pending: Pending,
    ) -> Result<Verdict, ReviewsError> {
        let options = self.holding.drive_options(self.reporter.clone(), false);
        let end = Box::pin(lifecycle.run_to_end(started, options)).await?;
        if end.driven.interrupted {
            return Ok(Verdict::Interrupted {
                run_id: pending.run_id,
            });
        }
        self.after_run(pending, &end.driven.meta, &end.driven.state)
    }

    /// A lifecycle of fix runs starting from `base` (a ref), with no task source.
    fn lifecycle(&self, base: Option<String>) -> Lifecycle {
        let h = self.holding;
        Lifecycle::new(LifecycleSetup {
            repo: h.repo.clone(),
            state_dir: h.state_dir.clone(),
            host: h.host.clone(),
            prepared: self.prepared.clone(),
            workflow_file: self.workflow_file.clone(),
            source: None,
            base,
            labels: Vec::new(),
            retry_failed: false,
            clock: h.clock.clone(),
            reporter: self.reporter.clone(),
        })
    }
}

fn error(e: &ReviewsError) -> Verdict {
    Verdict::Error {
        message: e.to_string(),
    }
}
