//! The driver: feeds events to the pure state machine, stores every accepted transition durably,
//! and only then carries out the commands that follow from it (start attempts, schedule retries,
//! wait for approvals, cancel attempts), then runs the `finally:` stages once the run ended. It
//! is the only place where the run meets the clock, tokio and the store.

mod attempt;
mod attempt_log;
mod commits;
mod control;
pub(crate) mod debug_hold;
mod finally;
mod lanes;
pub mod stage_input;
mod to_end;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use engine_core::{Command, Event, RunState, Spend, step};
use engine_git::Repo;
use engine_runtime::Host;
use engine_store::{RunMeta, Store};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::EngineError;
use crate::agents::SpendMeter;
use crate::project::PreparedWorkflow;
use crate::report::Reporter;
use crate::secrets::Redactor;
use crate::time::now_ms;

pub use attempt_log::{AttemptLog, attempt_log_path};
pub use commits::CommitSite;
pub use control::approval_stage;
pub use lanes::Lanes;
pub use to_end::{Driven, RunSetup, drive_to_end, remove_ended_worktree};

/// How often the driver looks for cancel requests and approval answers from other processes.
const CONTROL_POLL: Duration = Duration::from_millis(200);

/// How a call to [`Driver::drive`] ended.
#[derive(Debug)]
pub enum DriveOutcome {
    /// The run reached a terminal state.
    Finished(RunState),
    /// The driver was stopped (SIGINT/SIGTERM) before the run ended; `engine resume` continues.
    Interrupted(RunState),
}

/// Drives one run to its end.
pub struct Driver<'a> {
    /// Where transitions are stored.
    pub store: &'a dyn Store,
    /// The wasm host.
    pub host: Arc<Host>,
    /// The workflow with its components loaded.
    pub prepared: Arc<PreparedWorkflow>,
    /// The run's fixed facts (worktree, branch...).
    pub meta: RunMeta,
    /// The state directory (for logs and control requests).
    pub state_dir: PathBuf,
    /// Who hears about progress.
    pub reporter: Arc<dyn Reporter>,
    /// Stop cleanly on SIGINT/SIGTERM (leaving the run resumable).
    pub handle_signals: bool,
    /// Stop cleanly, as on a signal, once this turns `true` (the run modes stop every run
    /// they drive at once).
    pub stop: Option<tokio::sync::watch::Receiver<bool>>,
    /// Turns for at-most-once stages (merges) shared by the runs this process drives at the
    /// same time, so only one of them moves a base branch at a time; `None` when it drives
    /// only this run.
    pub lanes: Option<Arc<Lanes>>,
    /// The repository (agent stages snapshot the worktree through it).
    pub repo: Repo,
    /// Replaces secret values in everything the run writes down.
    pub redactor: Arc<Redactor>,
}

/// What a `StartAttempt` command asks for.
struct AttemptStart<'a> {
    stage: &'a str,
    attempt: u32,
    interrupted: bool,
    feedback: Option<engine_core::Feedback>,
}

struct Running {
    attempt: u32,
    task: JoinHandle<()>,
    meter: Arc<SpendMeter>,
}

impl Driver<'_> {
    /// Applies `first` to `state` and keeps going until the run ends or the driver is stopped.
    pub async fn drive(&self, state: RunState, first: Event) -> Result<DriveOutcome, EngineError> {
        let workflow = &self.prepared.loaded.workflow;
        let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
        let mut attempts: HashMap<String, Running> = HashMap::new();
        let mut timers: HashMap<String, JoinHandle<()>> = HashMap::new();
        let mut state = state;
        let mut queue = VecDeque::from([first]);
        let mut signals = Signals::new(self.handle_signals, self.stop.clone())?;
        let hold = debug_hold::Hold::from_env();
        let mut poll = tokio::time::interval(CONTROL_POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Set once the run reached its end; events still queued (the spend of attempts it
        // cancelled) are stored before the driver returns.
        let mut finished = false;

        loop {
            let event = match queue.pop_front() {
                Some(event) => event,
                None => tokio::select! {
                    Some(event) = rx.recv() => event,
                    _ = poll.tick() => {
                        queue.extend(self.control_events(&state)?);
                        continue;
                    },
                    _ = signals.recv() => {
                        stop_all(attempts, timers);
                        return Ok(DriveOutcome::Interrupted(state));
                    }
                },
            };
            let transition = match step(workflow, &state, &event) {
                Ok(t) => t,
                Err(rejected) => {
                    tracing::debug!(%rejected, event = event.kind(), "event rejected");
                    continue;
                }
            };
            hold.before_commit(transition.state.seq).await;
            self.store
                .commit(&state.run_id, &event, &transition.state)
                .map_err(EngineError::from)?;
            hold.after_commit(transition.state.seq).await;
            self.reporter
                .transition(&event, &transition.state, &transition.commands);
            state = transition.state;

            for command in transition.commands {
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
                        let task = self.spawn_attempt(&state, start, meter.clone(), tx.clone())?;
                        let running = Running {
                            attempt,
                            task,
                            meter,
                        };
                        if let Some(old) = attempts.insert(stage, running) {
                            old.task.abort();
                        }
                    }
                    Command::ScheduleRetry {
                        stage,
                        attempt,
                        due_at_ms,
                    } => {
                        let wait = Duration::from_millis(due_at_ms.saturating_sub(now_ms()));
                        let tx = tx.clone();
                        let name = stage.clone();
                        let timer = tokio::spawn(async move {
                            tokio::time::sleep(wait).await;
                            let _ = tx.send(Event::RetryDue {
                                stage: name,
                                attempt,
                                at_ms: now_ms(),
                            });
                        });
                        if let Some(old) = timers.insert(stage, timer) {
                            old.abort();
                        }
                    }
                    Command::AwaitApproval {
                        stage,
                        attempt,
                        deadline_ms,
                        ..
                    } => {
                        // The answer arrives through the control directory (polled above);
                        // only the timeout needs a timer.
                        if let Some(deadline) = deadline_ms {
                            let wait = Duration::from_millis(deadline.saturating_sub(now_ms()));
                            let tx = tx.clone();
                            let name = stage.clone();
                            let timer = tokio::spawn(async move {
                                tokio::time::sleep(wait).await;
                                let _ = tx.send(Event::ApprovalTimedOut {
                                    stage: name,
                                    attempt,
                                    at_ms: now_ms(),
                                });
                            });
                            if let Some(old) = timers.insert(format!("approval:{stage}"), timer) {
                                old.abort();
                            }
                        }
                    }
                    Command::CancelAttempt { stage, attempt } => {
                        if attempts.get(&stage).is_some_and(|r| r.attempt == attempt)
                            && let Some(running) = attempts.remove(&stage)
                        {
                            running.task.abort();
                            // Its result will be rejected; what it spent still counts.
                            let spend = running.meter.total();
                            if spend != Spend::NONE {
                                queue.push_back(Event::SpendRecorded {
                                    stage,
                                    attempt,
                                    at_ms: now_ms(),
                                    spend,
                                });
                            }
                        }
                    }
                    Command::FinishRun { .. } => finished = true,
                }
            }
            if finished && queue.is_empty() {
                stop_all(attempts, timers);
                let state = self.run_finally(state).await?;
                return Ok(DriveOutcome::Finished(state));
            }
        }
    }
}

fn stop_all(attempts: HashMap<String, Running>, timers: HashMap<String, JoinHandle<()>>) {
    for (_, running) in attempts {
        running.task.abort();
    }
    for (_, timer) in timers {
        timer.abort();
    }
}

/// SIGINT/SIGTERM, when the driver handles them, and the stop request of whoever drives it.
struct Signals {
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
    stop: Option<tokio::sync::watch::Receiver<bool>>,
}

impl Signals {
    fn new(
        enabled: bool,
        stop: Option<tokio::sync::watch::Receiver<bool>>,
    ) -> Result<Self, EngineError> {
        use tokio::signal::unix::{SignalKind, signal};
        if !enabled {
            return Ok(Signals {
                streams: None,
                stop,
            });
        }
        let int = signal(SignalKind::interrupt()).map_err(|e| EngineError::io("SIGINT", e))?;
        let term = signal(SignalKind::terminate()).map_err(|e| EngineError::io("SIGTERM", e))?;
        Ok(Signals {
            streams: Some((int, term)),
            stop,
        })
    }

    async fn recv(&mut self) {
        let Signals { streams, stop } = self;
        let signalled = async {
            match streams {
                Some((int, term)) => {
                    tokio::select! {
                        _ = int.recv() => {},
                        _ = term.recv() => {},
                    }
                }
                None => std::future::pending().await,
            }
        };
        let stopped = async {
            match stop {
                // A dropped sender is not a request to stop.
                Some(rx) => {
                    if rx.wait_for(|stop| *stop).await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = signalled => {},
            _ = stopped => {},
        }
    }
}
