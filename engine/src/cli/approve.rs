//! `engine approve RUN [--stage S]` and `engine reject RUN --reason R [--stage S]`: answer an
//! approval stage. If an engine process is driving the run, the answer is handed to it (it
//! holds the state lock) and this command waits for it to be taken; otherwise the answer is
//! recorded directly and `engine resume RUN` continues the run.

use std::path::Path;
use std::time::{Duration, Instant};

use clap::Args;
use engine_core::{Event, step};
use engine_store::{ApprovalAnswer, StateDir, Store, StoreError};

use crate::driver::approval_stage;
use crate::project::{Project, stored_workflow};
use crate::time::now_ms;
use crate::{EngineError, exit};

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

/// How long to wait for a running engine to take the answer.
const HANDOVER_WAIT: Duration = Duration::from_secs(10);

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

fn verb(answer: &ApprovalAnswer) -> &'static str {
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
    let project = Project::locate(state_dir)?;
    let holder = format!(
        "engine {} {run} (pid {})",
        verb(&answer),
        std::process::id()
    );
    match StateDir::open_locked(&project.state_dir, &holder) {
        Ok(state_dir) => answer_directly(&state_dir, run, answer),
        Err(StoreError::Busy { pid, .. }) => {
            engine_store::request_approval(&project.state_dir, run, &answer)?;
            let started = Instant::now();
            while started.elapsed() < HANDOVER_WAIT {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if !engine_store::approval_pending(&project.state_dir, run) {
                    println!(
                        "{}; engine process {pid} driving run {run} took the answer",
                        verb(&answer)
                    );
                    return Ok(exit::SUCCESS);
                }
            }
            Err(EngineError::Usage(format!(
                "engine process {pid} holds the state directory but did not take the answer \
                 within {}s (is it driving run {run}?); the answer stays queued",
                HANDOVER_WAIT.as_secs()
            )))
        }
        Err(e) => Err(e.into()),
    }
}

/// No engine process drives the run: record the answer; `engine resume` continues from it.
fn answer_directly(
    state_dir: &StateDir,
    run: &str,
    answer: ApprovalAnswer,
) -> Result<u8, EngineError> {
    let store = state_dir.store();
    let run_id = store.resolve_id(run)?;
    let record = store
        .load(&run_id)?
        .ok_or_else(|| EngineError::UnknownRun(format!("no run {run_id}")))?;
    let stage = approval_stage(&record.state, &answer).map_err(EngineError::Usage)?;
    let loaded = stored_workflow(&record.meta)?;
    let event = Event::ApprovalDecided {
        stage: stage.clone(),
        at_ms: now_ms(),
        approved: answer.approved,
        by: answer.by.clone(),
        reason: answer.reason.clone(),
    };
    let transition = step(&loaded.workflow, &record.state, &event)?;
    store.commit(&run_id, &event, &transition.state)?;
    println!(
        "stage {stage} of run {run_id} {}; continue the run with `engine resume {run_id}`",
        verb(&answer)
    );
    Ok(exit::SUCCESS)
}
