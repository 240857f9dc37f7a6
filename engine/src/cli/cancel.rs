//! `engine cancel RUN`: stop a run. If an engine process is driving it, ask that process (it
//! holds the state lock) and wait for it to pick the request up; otherwise record the
//! cancellation directly.

use std::path::Path;
use std::time::{Duration, Instant};

use clap::Args;
use engine_core::{Event, step};
use engine_store::{StateDir, Store, StoreError};

use crate::project::{Project, stored_workflow};
use crate::time::now_ms;
use crate::{EngineError, exit};

/// Arguments of `engine cancel`.
#[derive(Debug, Args)]
pub struct CancelArgs {
    /// The run id (a unique prefix is enough).
    pub run: String,
    /// Why (recorded in the run).
    #[arg(long, default_value = "cancelled by user")]
    pub reason: String,
}

/// How long to wait for a running engine to take the request.
const HANDOVER_WAIT: Duration = Duration::from_secs(10);

pub(super) async fn execute(args: CancelArgs, state_dir: Option<&Path>) -> Result<u8, EngineError> {
    let project = Project::locate(state_dir)?;
    let holder = format!("engine cancel {} (pid {})", args.run, std::process::id());
    match StateDir::open_locked(&project.state_dir, &holder) {
        Ok(state_dir) => cancel_directly(&state_dir, &args).await,
        Err(StoreError::Busy { pid, .. }) => {
            engine_store::request_cancel(&project.state_dir, &args.run, &args.reason)?;
            let started = Instant::now();
            while started.elapsed() < HANDOVER_WAIT {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if !engine_store::cancel_pending(&project.state_dir, &args.run) {
                    println!(
                        "cancel requested; engine process {pid} is stopping run {}",
                        args.run
                    );
                    return Ok(exit::SUCCESS);
                }
            }
            Err(EngineError::Usage(format!(
                "engine process {pid} holds the state directory but did not take the cancel \
                 request within {}s (is it driving run {}?); the request stays queued",
                HANDOVER_WAIT.as_secs(),
                args.run
            )))
        }
        Err(e) => Err(e.into()),
    }
}

async fn cancel_directly(state_dir: &StateDir, args: &CancelArgs) -> Result<u8, EngineError> {
    let store = state_dir.store();
    let run_id = store.resolve_id(&args.run)?;
    let record = store
        .load(&run_id)?
        .ok_or_else(|| EngineError::UnknownRun(format!("no run {run_id}")))?;
    if record.state.status.is_terminal() {
        return Err(EngineError::Usage(format!(
            "run {run_id} already ended: {}",
            record.state.status.name()
        )));
    }
    // The state machine needs the run's workflow to apply the event.
    let loaded = stored_workflow(&record.meta)?;
    let event = Event::CancelRequested {
        at_ms: now_ms(),
        reason: args.reason.clone(),
    };
    let transition = step(&loaded.workflow, &record.state, &event)?;
    store.commit(&run_id, &event, &transition.state)?;
    println!("run {run_id} cancelled");
    Ok(exit::SUCCESS)
}
