//! `engine cancel`, `approve`, `reject`, `pause` and `unpause` in the process holding the
//! state directory (this one, or the one they were submitted to; see [`crate::control`]): a run
//! that process drives gets the request through its driver; any other run gets it recorded on
//! its stored state here (then `engine resume` continues it; a cancelled one's `finally:`
//! stages run at once).

use std::sync::Arc;

use engine_store::Store;

use crate::control::{ControlCommand, Finish, Holding};
use crate::driver::{ControlRequest, hand_to_driver};
use crate::output::Output;
use crate::terminal::safe;
use crate::{EngineError, exit};

/// Carries `command` out, printing what happened on `output`.
pub(super) async fn control_held(
    holding: &Holding,
    command: ControlCommand,
    output: &Arc<dyn Output>,
) -> Result<Finish, EngineError> {
    let store = holding.state_dir.store();
    let pid = std::process::id();
    let state_path = holding.state_dir.path();
    let clock = holding.clock.as_ref();
    match command {
        ControlCommand::Cancel { run, reason } => {
            let run_id = store.resolve_id(&run)?;
            if crate::queue::driving::is_driven(&run_id) {
                let request = ControlRequest::Cancel {
                    run: &run_id,
                    reason: &reason,
                };
                hand_to_driver(state_path, request, clock).await?;
                // The driver runs the run's `finally:` stages once it stopped it.
                output.out(&format!(
                    "cancel requested; engine process {pid} is stopping run {}",
                    safe(&run)
                ));
                return Ok(Finish::Exit(exit::SUCCESS));
            }
            let run_id = super::cancel::cancel_directly(&holding.state_dir, &run, &reason).await?;
            output.out(&format!("run {run_id} cancelled"));
            Ok(Finish::Exit(
                Box::pin(super::cancel::finish_cancelled(holding, &run_id, output)).await,
            ))
        }
        ControlCommand::Answer { run, answer } => {
            let verb = super::approve::verb(&answer);
            let run_id = store.resolve_id(&run)?;
            if crate::queue::driving::is_driven(&run_id) {
                let request = ControlRequest::Approval {
                    run: &run_id,
                    answer: &answer,
                };
                hand_to_driver(state_path, request, clock).await?;
                output.out(&format!(
                    "{verb}; engine process {pid} driving run {} took the answer",
                    safe(&run)
                ));
                return Ok(Finish::Exit(exit::SUCCESS));
            }
            let (stage, run_id) =
                super::approve::answer_directly(&holding.state_dir, &run, &answer).await?;
            output.out(&format!(
                "stage {} of run {run_id} {verb}; continue the run with `engine resume {run_id}`",
                safe(&stage)
            ));
            Ok(Finish::Exit(exit::SUCCESS))
        }
        ControlCommand::Pause { run, paused } => {
            let run_id = store.resolve_id(&run)?;
            let run_text = safe(&run);
            if crate::queue::driving::is_driven(&run_id) {
                let request = ControlRequest::Pause {
                    run: &run_id,
                    paused,
                };
                hand_to_driver(state_path, request, clock).await?;
                output.out(&if paused {
                    format!(
                        "pause requested; engine process {pid} driving run {run_text} took it: \
                         no new attempt starts, running ones finish"
                    )
                } else {
                    format!(
                        "unpause requested; engine process {pid} driving run {run_text} took it"
                    )
                });
                return Ok(Finish::Exit(exit::SUCCESS));
            }
            let run_id = super::pause::record_directly(&holding.state_dir, &run, paused).await?;
            output.out(&if paused {
                format!(
                    "run {run_id} paused: no new attempt starts until `engine unpause {run_id}`"
                )
            } else {
                format!(
                    "run {run_id} unpaused; no engine process drives it: continue it with \
                     `engine resume {run_id}`"
                )
            });
            Ok(Finish::Exit(exit::SUCCESS))
        }
    }
}
