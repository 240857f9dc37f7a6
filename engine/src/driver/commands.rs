//! Carrying out the commands of a stored transition: starting attempts, the timers of retries,
//! approval timeouts and the run's `timeout:` (on the driver's [`Clock`](crate::time::Clock)),
//! cancelling attempts.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use engine_core::{Command, Event, RunState, Spend};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::Driver;
use crate::EngineError;
use crate::agents::SpendMeter;

/// What a `StartAttempt` command asks for.
pub(super) struct AttemptStart<'a> {
    pub(super) stage: &'a str,
    pub(super) attempt: u32,
    pub(super) interrupted: bool,
    pub(super) feedback: Option<engine_core::Feedback>,
}

/// An attempt going on.
struct Running {
    attempt: u32,
    task: JoinHandle<()>,
    meter: Arc<SpendMeter>,
}

/// The attempts and timers of one drive; dropping it stops them all.
#[derive(Default)]
pub(super) struct InFlight {
    attempts: HashMap<String, Running>,
    timers: HashMap<String, JoinHandle<()>>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        for running in self.attempts.values() {
            running.task.abort();
        }
        for timer in self.timers.values() {
            timer.abort();
        }
    }
}

impl InFlight {
    fn set_timer(&mut self, key: String, timer: JoinHandle<()>) {
        if let Some(old) = self.timers.insert(key, timer) {
            old.abort();
        }
    }
}

impl Driver<'_> {
    /// Carries out one command of the transition that led to `state`; `true` when the run
    /// finished. Spend of a cancelled attempt is queued as an event.
    pub(super) fn carry_out(
        &self,
        command: Command,
        state: &RunState,
        in_flight: &mut InFlight,
        tx: &mpsc::UnboundedSender<Event>,
        queue: &mut VecDeque<Event>,
    ) -> Result<bool, EngineError> {
        match command {
            Command::StartAttempt {
                stage,
                attempt,
                interrupted,
                feedback,
            } => {
                let meter = Arc::new(SpendMeter::new());
                let start = AttemptStart {
                    stage: &stage,
                    attempt,
                    interrupted,
                    feedback,
                };
                let task = self.spawn_attempt(state, start, meter.clone(), tx.clone())?;
                let running = Running {
                    attempt,
                    task,
                    meter,
                };
                if let Some(old) = in_flight.attempts.insert(stage, running) {
                    old.task.abort();
                }
            }
            Command::ScheduleRetry {
                stage,
                attempt,
                due_at_ms,
            } => {
                let name = stage.clone();
                let timer = self.timer(due_at_ms, tx, move |at_ms| Event::RetryDue {
                    stage: name,
                    attempt,
                    at_ms,
                });
                in_flight.set_timer(stage, timer);
            }
            Command::AwaitApproval {
                stage,
                attempt,
                deadline_ms,
                ..
            } => {
                // The answer arrives through the control directory (polled by the driver);
                // only the timeout needs a timer.
                if let Some(deadline) = deadline_ms {
                    let name = stage.clone();
                    let timer = self.timer(deadline, tx, move |at_ms| Event::ApprovalTimedOut {
                        stage: name,
                        attempt,
                        at_ms,
                    });
                    in_flight.set_timer(format!("approval:{stage}"), timer);
                }
            }
            Command::ScheduleRunTimeout { due_at_ms } => {
                let timer = self.timer(due_at_ms, tx, |at_ms| Event::RunTimedOut { at_ms });
                in_flight.set_timer("run-timeout".to_string(), timer);
            }
            Command::CancelAttempt { stage, attempt } => {
                if in_flight
                    .attempts
                    .get(&stage)
                    .is_some_and(|r| r.attempt == attempt)
                    && let Some(running) = in_flight.attempts.remove(&stage)
                {
                    running.task.abort();
                    // Its result will be rejected; what it spent still counts.
                    let spend = running.meter.total();
                    if spend != Spend::NONE {
                        queue.push_back(Event::SpendRecorded {
                            stage,
                            attempt,
                            at_ms: self.clock.now_ms(),
                            spend,
                        });
                    }
                }
            }
            Command::FinishRun { .. } => return Ok(true),
        }
        Ok(false)
    }

    /// A task that sends `event(now)` once the driver's clock reads `at_ms`.
    fn timer(
        &self,
        at_ms: u64,
        tx: &mpsc::UnboundedSender<Event>,
        event: impl FnOnce(u64) -> Event + Send + 'static,
    ) -> JoinHandle<()> {
        let due = self.clock.sleep_until(at_ms);
        let clock = self.clock.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            due.await;
            // The driver gone, nobody waits for the event.
            let _ = tx.send(event(clock.now_ms()));
        })
    }
}
