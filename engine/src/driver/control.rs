//! Requests from other processes for the run this driver holds: `engine cancel`,
//! `engine approve`, `engine reject`, `engine pause` and `engine unpause` (files in the state
//! directory's control folder).

use engine_core::{Event, RunState};
use engine_store::ApprovalAnswer;

use super::Driver;
use crate::EngineError;

impl Driver<'_> {
    /// The events that requests waiting for this run turn into. Requests for other runs are
    /// left for whoever drives them.
    pub(super) fn control_events(&self, state: &RunState) -> Result<Vec<Event>, EngineError> {
        let mut events = Vec::new();
        for (run_id, reason) in engine_store::take_cancel_requests(&self.state_dir)? {
            // The commands may name the run by a prefix of its id.
            if self.is_ours(&run_id) {
                events.push(Event::CancelRequested {
                    at_ms: self.clock.now_ms(),
                    reason,
                });
            } else {
                engine_store::request_cancel(&self.state_dir, &run_id, &reason)?;
            }
        }
        for (run_id, paused) in engine_store::take_pause_requests(&self.state_dir)? {
            if !self.is_ours(&run_id) {
                engine_store::request_pause(&self.state_dir, &run_id, paused)?;
                continue;
            }
            let at_ms = self.clock.now_ms();
            events.push(if paused {
                Event::Paused { at_ms }
            } else {
                Event::Unpaused { at_ms }
            });
        }
        for (run_id, answer) in engine_store::take_approval_requests(&self.state_dir)? {
            if !self.is_ours(&run_id) {
                engine_store::request_approval(&self.state_dir, &run_id, &answer)?;
                continue;
            }
            match approval_stage(state, &answer) {
                Ok(stage) => events.push(Event::ApprovalDecided {
                    stage,
                    at_ms: self.clock.now_ms(),
                    approved: answer.approved,
                    by: answer.by,
                    reason: answer.reason,
                }),
                Err(problem) => tracing::warn!(run = %state.run_id, "{problem}"),
            }
        }
        Ok(events)
    }

    fn is_ours(&self, run_id: &str) -> bool {
        !run_id.is_empty() && self.meta.run_id.starts_with(run_id)
    }
}

/// The stage an approval answer is for: the one it names, or the only one waiting.
pub fn approval_stage(state: &RunState, answer: &ApprovalAnswer) -> Result<String, String> {
    let waiting = state.awaiting_approval();
    if let Some(stage) = &answer.stage {
        return Ok(stage.clone());
    }
    match waiting.as_slice() {
        [(stage, _)] => Ok(stage.to_string()),
        [] => Err(format!(
            "run {} has no stage waiting for approval; the answer is ignored",
            state.run_id
        )),
        several => Err(format!(
            "run {} has {} stages waiting for approval ({}); name one with --stage",
            state.run_id,
            several.len(),
            several
                .iter()
                .map(|(s, _)| *s)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}
