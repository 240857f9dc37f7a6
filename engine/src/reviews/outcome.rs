//! What `engine reviews` did (or, with `--list`, would do) for each pull request, and the exit
//! code they add up to.

use serde::Serialize;

use super::select::Feedback;
use crate::exit;

/// One pull request's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrOutcome {
    /// The pull request.
    pub pr: u64,
    /// Its head branch.
    pub branch: String,
    /// Whether engine opened it (see [`super::select::is_engine_pr`]); `None` when only its
    /// pending record was looked at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine_pr: Option<bool>,
    /// What happened.
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// What happened to one pull request.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Verdict {
    /// Left alone, with why (not engine's, a fork, a refused branch name, not open).
    Skipped {
        /// Why.
        reason: String,
    },
    /// Every piece of feedback is answered.
    NothingToDo,
    /// `--list`: this feedback would be fixed.
    WouldFix {
        /// The feedback.
        feedback: Vec<Feedback>,
    },
    /// `--list`: an answer is in progress (a run, a push or replies left by an interrupted
    /// `engine reviews`); the next `engine reviews` finishes it.
    Pending {
        /// The fix run.
        run_id: String,
        /// The commit pushed, once it was.
        pushed: Option<String>,
    },
    /// Fixed: the fix is on the PR's branch and every feedback item it answers has a reply.
    Fixed {
        /// The fix run.
        run_id: String,
        /// The branch's new tip.
        commit: String,
        /// Whether this invocation pushed it (`false`: an interrupted one had).
        pushed: bool,
        /// Replies this invocation posted.
        replies: usize,
        /// The feedback answered.
        feedback: Vec<Feedback>,
    },
    /// The fix run succeeded without changing anything: nothing pushed or replied.
    NoChange {
        /// The fix run.
        run_id: String,
    },
    /// The fix run did not succeed: nothing pushed or replied.
    RunEnded {
        /// The fix run.
        run_id: String,
        /// `failed`, `cancelled` or `needs_attention`.
        status: String,
        /// Why, as the run says.
        message: String,
    },
    /// The fix run was stopped (Ctrl-C); the next `engine reviews` goes on with it.
    Interrupted {
        /// The fix run.
        run_id: String,
    },
    /// Something failed on the way (gh, git, the push); what was done is said in `message`.
    Error {
        /// What went wrong.
        message: String,
    },
}

impl Verdict {
    /// The exit code this outcome asks for (0 when it is fine).
    pub fn exit_code(&self) -> u8 {
        match self {
            Verdict::Skipped { .. }
            | Verdict::NothingToDo
            | Verdict::WouldFix { .. }
            | Verdict::Pending { .. }
            | Verdict::Fixed { .. } => exit::SUCCESS,
            Verdict::NoChange { .. } | Verdict::Error { .. } => exit::RUN_FAILED,
            Verdict::RunEnded { status, .. } => match status.as_str() {
                "cancelled" => exit::RUN_CANCELLED,
                "needs_attention" => exit::RUN_NEEDS_ATTENTION,
                _ => exit::RUN_FAILED,
            },
            Verdict::Interrupted { .. } => exit::RUN_INTERRUPTED,
        }
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            Verdict::Skipped { reason } => format!("skipped: {reason}"),
            Verdict::NothingToDo => "nothing to do: no unanswered review feedback".into(),
            Verdict::WouldFix { feedback } => {
                format!(
                    "{} unanswered review comment(s) would be fixed",
                    feedback.len()
                )
            }
            Verdict::Pending { run_id, pushed } => match pushed {
                Some(commit) => format!(
                    "pushed {} by run {run_id}; replies still to post",
                    short(commit)
                ),
                None => format!("fix run {run_id} in progress"),
            },
            Verdict::Fixed {
                run_id,
                commit,
                pushed,
                replies,
                ..
            } => format!(
                "fixed by run {run_id}: {} {}, {replies} repl{} posted",
                short(commit),
                if *pushed { "pushed" } else { "already pushed" },
                if *replies == 1 { "y" } else { "ies" }
            ),
            Verdict::NoChange { run_id } => {
                format!("fix run {run_id} succeeded but changed nothing: nothing pushed or replied")
            }
            Verdict::RunEnded {
                run_id,
                status,
                message,
            } => format!("fix run {run_id} {status}: {message}; nothing pushed or replied"),
            Verdict::Interrupted { run_id } => {
                format!("fix run {run_id} was stopped; `engine reviews` again goes on with it")
            }
            Verdict::Error { message } => format!("error: {message}"),
        }
    }
}

fn short(commit: &str) -> String {
    commit.chars().take(12).collect()
}

/// The exit code of a whole invocation: the first failing outcome's kind wins in this order:
/// interrupted, needs attention, cancelled, failed.
pub fn exit_code(outcomes: &[PrOutcome]) -> u8 {
    let codes: Vec<u8> = outcomes.iter().map(|o| o.verdict.exit_code()).collect();
    for code in [
        exit::RUN_INTERRUPTED,
        exit::RUN_NEEDS_ATTENTION,
        exit::RUN_CANCELLED,
        exit::RUN_FAILED,
    ] {
        if codes.contains(&code) {
            return code;
        }
    }
    exit::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(verdict: Verdict) -> PrOutcome {
        PrOutcome {
            pr: 1,
            branch: "engine/x".into(),
            engine_pr: Some(true),
            verdict,
        }
    }

    #[test]
    fn the_worst_outcome_decides_the_exit_code() {
        assert_eq!(exit_code(&[]), 0);
        let fine = outcome(Verdict::NothingToDo);
        let failed = outcome(Verdict::Error {
            message: "x".into(),
        });
        let stopped = outcome(Verdict::Interrupted { run_id: "R".into() });
        assert_eq!(exit_code(std::slice::from_ref(&fine)), 0);
        assert_eq!(exit_code(&[fine.clone(), failed.clone()]), 1);
        assert_eq!(exit_code(&[failed, stopped, fine]), 4);
    }

    #[test]
    fn outcomes_serialise_with_their_kind() {
        let o = outcome(Verdict::Skipped {
            reason: "a fork".into(),
        });
        let json = serde_json::to_value(&o).unwrap();
        assert_eq!(json["outcome"], "skipped");
        assert_eq!(json["reason"], "a fork");
        assert_eq!(json["pr"], 1);
    }
}
