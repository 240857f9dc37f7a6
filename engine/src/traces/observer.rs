//! The hook: a [`Reporter`] around the run's own that, after each stored transition, queues
//! the attempts that have ended since it last looked, and the run once it ended (see
//! [`super::observe`]).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use engine_core::RunState;

use super::export::{Exporter, Job};
use super::spans::RunFacts;
use crate::report::Listener;

/// Exports spans of what ended (listening beside the run's reporter, see [`crate::report::Listening`]).
pub(super) struct Traced {
    pub(super) exporter: &'static Exporter,
    pub(super) facts: Arc<RunFacts>,
    pub(super) created_at_ms: u64,
    pub(super) state_dir: Arc<PathBuf>,
    /// Attempts already exported (or ended before this process took the run up).
    pub(super) sent: Mutex<HashSet<(String, u32)>>,
}

/// The attempts of `state` that have ended, with their stage ids.
pub(super) fn ended(
    state: &RunState,
) -> impl Iterator<Item = (&String, &engine_core::AttemptRecord)> {
    state.stages.iter().flat_map(|(id, stage)| {
        stage
            .history
            .iter()
            .filter(|r| r.ended_at_ms.is_some())
            .map(move |r| (id, r))
    })
}

impl Traced {
    /// Queues every attempt of `state` that ended and was not queued yet.
    fn export_ended(&self, state: &RunState) {
        let Ok(mut sent) = self.sent.lock() else {
            return;
        };
        for (stage, record) in ended(state) {
            if sent.insert((stage.clone(), record.attempt)) {
                self.exporter.send(Job::Attempt {
                    facts: self.facts.clone(),
                    state_dir: self.state_dir.clone(),
                    stage: stage.clone(),
                    record: record.clone(),
                });
            }
        }
    }
}

impl Listener for Traced {
    fn transition(&self, after: &RunState) {
        self.export_ended(after);
    }

    fn run_finished(&self, state: &RunState) {
        self.export_ended(state);
        if state.status.is_terminal() {
            self.exporter.send(Job::Run {
                facts: self.facts.clone(),
                created_at_ms: self.created_at_ms,
                state: Box::new(state.clone()),
            });
        }
    }
}
