//! Where a run meets the store: [`commit_step`] feeds one event to the pure core and stores the
//! transition it returns, and nothing else stores a transition — the driver, its `finally:`
//! stages, `engine cancel` and `engine approve` when no process drives the run, and a run
//! abandoned because its task's claim was refused all go through it.
//!
//! An event the core rejects changes nothing. [`rejection`] says what the driver makes of
//! one: a race it expects (a result of an attempt it already stopped, a timer that fired as
//! its wait ended, a cancel for a run that just ended), a person's answer that does not apply,
//! or a bug in the driver.

use engine_core::{Event, Rejected, RunState, Transition, Workflow, step};
use engine_store::{Store, StoreError};

use super::debug_hold::Hold;
use crate::EngineError;

/// Why [`commit_step`] stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The core rejected the event; the run is unchanged.
    #[error(transparent)]
    Rejected(#[from] Rejected),
    /// The transition could not be stored.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<StepError> for EngineError {
    fn from(e: StepError) -> Self {
        match e {
            StepError::Rejected(rejected) => EngineError::Rejected(rejected),
            StepError::Store(store) => EngineError::from(store),
        }
    }
}

/// Applies `event` to `state` and stores the transition durably (holding around the store when
/// `ENGINE_DEBUG_HOLD` asks `hold` to); returns it, its commands still to be carried out.
pub async fn commit_step(
    store: &dyn Store,
    workflow: &Workflow,
    state: &RunState,
    event: &Event,
    hold: &Hold,
) -> Result<Transition, StepError> {
    let transition = step(workflow, state, event)?;
    hold.before_commit(transition.state.seq).await;
    store.commit(&state.run_id, event, &transition.state)?;
    hold.after_commit(transition.state.seq).await;
    Ok(transition)
}

/// What an event the core rejected means to the driver that fed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The driver's tasks and timers raced the run: the result or skip of an attempt the run
    /// already stopped or moved past (its task sent it before it was aborted), a retry or
    /// approval timeout whose wait was superseded, answered or ended with the run, a cancel
    /// for a run that just ended, the run's timeout timer of a run that ended (or of an
    /// earlier deadline). Expected; nothing to report.
    Race,
    /// A person's approval answer, pause or unpause that does not apply (no such stage
    /// waiting, already paused, the run ended): they are told, the run goes on.
    Answer,
    /// The driver fed the core an event it should never have: a bug.
    Bug,
}

/// What `rejected` means for `event` (see [`Rejection`]).
pub fn rejection(event: &Event, rejected: &Rejected) -> Rejection {
    use Rejected::{NotAwaitingApproval, NotDue, RunFinished, StaleAttempt};
    match (event, rejected) {
        (
            Event::AttemptSucceeded { .. }
            | Event::AttemptFailed { .. }
            | Event::StageSkipped { .. }
            | Event::RetryDue { .. }
            | Event::ApprovalTimedOut { .. },
            StaleAttempt { .. } | RunFinished { .. },
        )
        | (Event::ApprovalTimedOut { .. }, NotAwaitingApproval { .. })
        | (Event::CancelRequested { .. }, RunFinished { .. })
        | (Event::RunTimedOut { .. }, RunFinished { .. } | NotDue { .. }) => Rejection::Race,
        (Event::ApprovalDecided { .. } | Event::Paused { .. } | Event::Unpaused { .. }, _) => {
            Rejection::Answer
        }
        _ => Rejection::Bug,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_core::{Failure, FailureKind, FinallyOutcome, Spend, Task};
    use engine_store::MemoryStore;

    fn workflow() -> Workflow {
        engine_workflow::load_str(
            "wf.yaml",
            std::path::Path::new("."),
            "name: wf\nstages:\n  only: { uses: builtin:gate }\n",
        )
        .unwrap()
        .workflow
    }

    fn failed(attempt: u32) -> Event {
        Event::AttemptFailed {
            stage: "only".into(),
            attempt,
            at_ms: 2,
            failure: Failure {
                kind: FailureKind::Fatal,
                message: "no".into(),
                detail: serde_json::Value::Null,
                retry_at_ms: None,
            },
            spend: Spend::NONE,
        }
    }

    #[tokio::test]
    async fn a_step_is_stored_and_a_rejected_event_stores_nothing() {
        let workflow = workflow();
        let store = MemoryStore::default();
        let meta = crate::test_fixtures::run_meta("R1", "engine/t-1");
        let fresh = RunState::new("R1", Task::default(), &workflow);
        store.create_run(&meta, &fresh).unwrap();
        let hold = Hold::none();
        let started = commit_step(
            &store,
            &workflow,
            &fresh,
            &Event::RunStarted { at_ms: 1 },
            &hold,
        )
        .await
        .unwrap();
        assert_eq!(store.load("R1").unwrap().unwrap().state, started.state);

        let stale = commit_step(&store, &workflow, &started.state, &failed(7), &hold).await;
        assert!(matches!(stale, Err(StepError::Rejected(_))));
        assert_eq!(store.load("R1").unwrap().unwrap().state, started.state);
    }

    #[test]
    fn races_are_told_from_answers_and_bugs() {
        let stale = Rejected::StaleAttempt {
            stage: "only".into(),
            attempt: 1,
            current: "stage was cancelled".into(),
        };
        let finished = Rejected::RunFinished {
            run_id: "R1".into(),
            status: "succeeded".into(),
        };
        let cancel = Event::CancelRequested {
            at_ms: 1,
            reason: "user".into(),
        };
        let answer = Event::ApprovalDecided {
            stage: "only".into(),
            at_ms: 1,
            approved: true,
            by: "ana".into(),
            reason: String::new(),
        };
        let finally = Event::FinallyFinished {
            stage: "notify".into(),
            at_ms: 1,
            outcome: FinallyOutcome::Skipped { reason: "x".into() },
        };
        assert_eq!(rejection(&failed(1), &stale), Rejection::Race);
        assert_eq!(rejection(&cancel, &finished), Rejection::Race);
        assert_eq!(rejection(&answer, &finished), Rejection::Answer);
        assert_eq!(
            rejection(
                &Event::Paused { at_ms: 1 },
                &Rejected::AlreadyPaused("R1".into())
            ),
            Rejection::Answer
        );
        let not_due = Rejected::NotDue {
            run_id: "R1".into(),
            deadline: "9".into(),
        };
        assert_eq!(
            rejection(&Event::RunTimedOut { at_ms: 1 }, &not_due),
            Rejection::Race
        );
        assert_eq!(
            rejection(
                &Event::RunStarted { at_ms: 1 },
                &Rejected::AlreadyStarted("R1".into())
            ),
            Rejection::Bug
        );
        assert_eq!(
            rejection(&finally, &Rejected::AlreadyRecorded("notify".into())),
            Rejection::Bug
        );
        assert_eq!(
            rejection(&failed(1), &Rejected::UnknownStage("only".into())),
            Rejection::Bug
        );
    }
}
