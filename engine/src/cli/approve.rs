//! `engine approve RUN [--stage S]` and `engine reject RUN --reason R [--stage S]`: answer an
//! approval stage. The process holding the state directory (reached over its control socket,
//! or this one) hands the answer to the run's driver when it drives the run, and otherwise
//! records it (`engine resume RUN` then continues the run; see `run_control`).

use std::path::Path;

use clap::Args;
use engine_core::Event;
use engine_store::{ApprovalAnswer, StateDir};

use crate::EngineError;
use crate::control::{ControlCommand, Request};
use crate::driver::{approval_stage, commit_to_stored, stored_run};
use crate::time::{Clock, SystemClock};

/// Arguments of `engine approve`.
#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The run id (a unique prefix is enough).
    pub run: String,
    /// The approval stage (needed only when several wait at once).
    #[arg(long)]
    pub stage: Option<String>,
    /// A note recorded with the approval.
    #[arg(long, default_value = "")]
    pub reason: String,
    /// Who approves (default: $USER).
    #[arg(long)]
    pub by: Option<String>,
}

/// Arguments of `engine reject`.
#[derive(Debug, Args)]
pub struct RejectArgs {
    /// The run id (a unique prefix is enough).
    pub run: String,
    /// Why: recorded, and given as feedback to the stage the run goes back to.
    #[arg(long)]
    pub reason: String,
    /// The approval stage (needed only when several wait at once).
    #[arg(long)]
    pub stage: Option<String>,
    /// Who rejects (default: $USER).
    #[arg(long)]
    pub by: Option<String>,
}

pub(super) async fn approve(
    args: ApproveArgs,
    state_dir: Option<&Path>,
) -> Result<u8, EngineError> {
    let answer = ApprovalAnswer {
        stage: args.stage,
        approved: true,
        by: who(args.by),
        reason: args.reason,
    };
    answer_run(&args.run, answer, state_dir).await
}

pub(super) async fn reject(args: RejectArgs, state_dir: Option<&Path>) -> Result<u8, EngineError> {
    if args.reason.trim().is_empty() {
        return Err(EngineError::Usage(
            "engine reject needs a --reason: it is the feedback the run goes back with".into(),
        ));
    }
    let answer = ApprovalAnswer {
        stage: args.stage,
        approved: false,
        by: who(args.by),
        reason: args.reason,
    };
    answer_run(&args.run, answer, state_dir).await
}

fn who(by: Option<String>) -> String {
    by.or_else(|| std::env::var("USER").ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "someone".into())
}

/// `approved` or `rejected`.
pub(super) fn verb(answer: &ApprovalAnswer) -> &'static str {
    if answer.approved {
        "approved"
    } else {
        "rejected"
    }
}

async fn answer_run(
    run: &str,
    answer: ApprovalAnswer,
    state_dir: Option<&Path>,
) -> Result<u8, EngineError> {
    let holder = format!(
        "engine {} {run} (pid {})",
        verb(&answer),
        std::process::id()
    );
    let command = ControlCommand::Answer {
        run: run.to_string(),
        answer,
    };
    super::hold::locate_and_execute(state_dir, Request::Control(command), &holder).await
}

/// No engine process drives the run: records the answer (`engine resume` continues from it);
/// returns the stage and the run.
pub(super) async fn answer_directly(
    state_dir: &StateDir,
    run: &str,
    answer: &ApprovalAnswer,
) -> Result<(String, String), EngineError> {
    let store = state_dir.store();
    let record = stored_run(store, run)?;
    let stage = approval_stage(&record.state, answer).map_err(EngineError::Usage)?;
    let event = Event::ApprovalDecided {
        stage: stage.clone(),
        at_ms: SystemClock.now_ms(),
        approved: answer.approved,
        by: answer.by.clone(),
        reason: answer.reason.clone(),
    };
    commit_to_stored(store, &record, &event).await?;
    Ok((stage, record.meta.run_id))
}
