//! The supervision loop: one task that takes lines from both streams, feeds the parser, keeps
//! the transcript, and judges every limit on a single timer.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine_confine::ProcessGroup;
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinHandle};
use tokio::time::MissedTickBehavior;

use crate::backend::StreamParser;
use crate::event::AgentEvent;
use crate::summary::{Outcome, Summary};
use crate::supervise::Shared;
use crate::supervise::format::duration_text;
use crate::supervise::limits::Limits;
use crate::supervise::lines::{Line, Stream};
use crate::supervise::record::{Ending, Record};
use crate::supervise::spend::Spend;
use crate::supervise::transcript::Transcript;
use crate::supervise::watchdog::{Verdict, Watchdog};

/// Between SIGTERM to the group and SIGKILL.
const KILL_ESCALATION: Duration = Duration::from_secs(2);
/// After the process exited: how long the pipes may stay quiet before the session ends (a
/// background child may hold them open).
const EXIT_DRAIN_IDLE: Duration = Duration::from_millis(500);
/// After the process exited: the longest the pipes are drained.
const EXIT_DRAIN_MAX: Duration = Duration::from_secs(5);
/// After SIGKILL: how long to wait for the process to be reaped before giving up on it.
const REAP_WAIT: Duration = Duration::from_secs(5);
/// Lines handled in one go before the loop looks at its timer again.
const LINE_BATCH: usize = 256;

/// The supervisor's kill in progress.
#[derive(Debug, Clone, Copy)]
struct Killing {
    sigterm_at: Instant,
    sigkill_sent: bool,
}

/// Everything the loop owns.
pub(crate) struct Driver {
    /// The CLI's process group (led by bubblewrap when the CLI is confined).
    pub(crate) group: Option<ProcessGroup>,
    pub(crate) parser: Box<dyn StreamParser>,
    pub(crate) lines: mpsc::Receiver<Line>,
    pub(crate) exited: JoinHandle<std::io::Result<ExitStatus>>,
    pub(crate) helpers: Vec<AbortHandle>,
    pub(crate) events: mpsc::UnboundedSender<AgentEvent>,
    pub(crate) cancel: mpsc::UnboundedReceiver<()>,
    pub(crate) transcript: Transcript,
    pub(crate) limits: Limits,
    pub(crate) spend: Spend,
    pub(crate) shared: Arc<Shared>,
    pub(crate) started: Instant,
}

/// The loop's changing state.
struct State {
    watchdog: Watchdog,
    record: Record,
    ending: Ending,
    /// False once the supervisor killed for a limit or a cancel: later output is only recorded.
    parsing: bool,
    killing: Option<Killing>,
    result_at: Option<Instant>,
    exit: Option<(Option<ExitStatus>, Instant)>,
    last_line_at: Instant,
    lines_open: bool,
    cancel_open: bool,
}

impl State {
    /// Whether the session is over: the process exited and its pipes are drained (or stay
    /// quiet), or it cannot be reaped after SIGKILL.
    fn over(&self, now: Instant) -> bool {
        if let Some((_, exit_at)) = self.exit {
            let idle_since = exit_at.max(self.last_line_at);
            return !self.lines_open
                || now >= exit_at + EXIT_DRAIN_MAX
                || now >= idle_since + EXIT_DRAIN_IDLE;
        }
        matches!(self.killing, Some(k) if k.sigkill_sent
            && now >= k.sigterm_at + KILL_ESCALATION + REAP_WAIT)
    }
}

impl Driver {
    /// Runs the session to its end.
    pub(crate) async fn run(mut self) -> Summary {
        let tick_every = (self.limits.shortest() / 10)
            .clamp(Duration::from_millis(10), Duration::from_millis(500));
        let mut tick = tokio::time::interval(tick_every);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut state = State {
            watchdog: Watchdog::new(self.limits.clone(), self.started),
            record: Record::default(),
            ending: Ending::default(),
            parsing: true,
            killing: None,
            result_at: None,
            exit: None,
            last_line_at: self.started,
            lines_open: true,
            cancel_open: true,
        };
        while !state.over(Instant::now()) {
            tokio::select! {
                line = self.lines.recv(), if state.lines_open => match line {
                    Some(line) => self.take_lines(&mut state, &line),
                    None => state.lines_open = false,
                },
                exited = &mut self.exited, if state.exit.is_none() => {
                    let status = exited.ok().and_then(Result::ok);
                    self.transcript.supervisor(&exit_text(status));
                    state.exit = Some((status, Instant::now()));
                }
                cancel = self.cancel.recv(), if state.cancel_open => match cancel {
                    Some(()) => self.cancelled(&mut state),
                    None => state.cancel_open = false,
                },
                _ = tick.tick() => self.tick(&mut state, Instant::now()),
            }
        }
        self.end(state)
    }

    /// Handles `first` and whatever else is already waiting, up to a batch.
    fn take_lines(&mut self, state: &mut State, first: &Line) {
        let now = Instant::now();
        self.line(state, first, now);
        for _ in 1..LINE_BATCH {
            match self.lines.try_recv() {
                Ok(line) => self.line(state, &line, now),
                Err(mpsc::error::TryRecvError::Empty) => return,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    state.lines_open = false;
                    return;
                }
            }
        }
    }

    fn line(&mut self, state: &mut State, line: &Line, now: Instant) {
        state.last_line_at = now;
        self.transcript
            .line(line.stream.name(), &line.text, line.truncated);
        if !state.parsing {
            return;
        }
        state.watchdog.output(now);
        let events = match line.stream {
            Stream::Stdout => self.parser.stdout_line(&line.text),
            Stream::Stderr => self.parser.stderr_line(&line.text),
        };
        for event in events {
            self.event(state, event, now);
        }
    }

    fn event(&mut self, state: &mut State, event: AgentEvent, now: Instant) {
        if !state.record.event(&event) {
            self.transcript.supervisor("ignored a second result event");
            return;
        }
        if let AgentEvent::SessionStarted {
            model: Some(model), ..
        } = &event
        {
            self.spend.set_model(model);
        }
        let usage = match &event {
            AgentEvent::Usage { usage } => Some(usage),
            AgentEvent::Result { usage, .. } => usage.as_ref(),
            _ => None,
        };
        if let Some(usage) = usage {
            self.spend.update(usage);
            self.shared
                .set_spent(self.spend.spent_usd(), self.spend.estimated());
        }
        if event.is_terminal() && state.result_at.is_none() {
            state.result_at = Some(now);
        }
        let verdict = state.watchdog.event(&event, now);
        let _ = self.events.send(event);
        if let Some(Verdict::Kill { outcome, detail }) = verdict {
            self.kill(state, outcome, detail, now);
        }
        if let Some(detail) = self.over_budget() {
            self.kill(state, Outcome::BudgetExceeded, detail, now);
        }
    }

    /// Why the spend so far is past the session's budget, if it is.
    fn over_budget(&self) -> Option<String> {
        let budget = self.limits.budget_usd?;
        let spent = self.spend.spent_usd()?;
        (spent > budget).then(|| {
            let estimated = if self.spend.estimated() {
                " (estimated from tokens)"
            } else {
                ""
            };
            format!(
                "spent {}{estimated}, past the budget of {}",
                crate::supervise::format::usd_text(spent),
                crate::supervise::format::usd_text(budget)
            )
        })
    }

    fn tick(&mut self, state: &mut State, now: Instant) {
        self.transcript.flush();
        if let Some(killing) = &mut state.killing {
            if !killing.sigkill_sent && now >= killing.sigterm_at + KILL_ESCALATION {
                killing.sigkill_sent = true;
                self.kill_group();
                self.transcript
                    .supervisor("still running 2s after SIGTERM: sent SIGKILL to the group");
            }
            return;
        }
        if state.exit.is_some() {
            return;
        }
        if let Some(result_at) = state.result_at {
            let grace = self.limits.post_result_grace;
            if now >= result_at + grace {
                let detail = format!(
                    "the process was still running {} after its result: killed",
                    duration_text(grace)
                );
                self.transcript.supervisor(&detail);
                state.ending.killed_after_result = Some(detail);
                state.parsing = false;
                self.signal(state, now);
            }
            return;
        }
        for verdict in state.watchdog.tick(now) {
            match verdict {
                Verdict::Warn(message) => self.warn(message),
                Verdict::Kill { outcome, detail } => self.kill(state, outcome, detail, now),
            }
        }
    }

    fn warn(&mut self, message: String) {
        self.transcript.supervisor(&format!("warning: {message}"));
        let _ = self.events.send(AgentEvent::SupervisorWarning { message });
    }

    fn cancelled(&mut self, state: &mut State) {
        if state.exit.is_none() {
            let now = Instant::now();
            self.kill(
                state,
                Outcome::Cancelled,
                "cancelled by the stage".into(),
                now,
            );
        }
    }

    /// Kills for a rule (or a cancel), unless a result or another kill came first.
    fn kill(&mut self, state: &mut State, outcome: Outcome, detail: String, now: Instant) {
        if state.killing.is_some() || state.ending.kill.is_some() || state.exit.is_some() {
            return;
        }
        if state.record.has_result() {
            if outcome == Outcome::Cancelled {
                state.ending.killed_after_result = Some("cancelled after the result".into());
                state.parsing = false;
                self.signal(state, now);
            }
            return;
        }
        self.transcript.supervisor(&format!(
            "killing the process group ({outcome:?}): {detail}"
        ));
        let _ = self.events.send(AgentEvent::SupervisorWarning {
            message: format!("stopping the agent: {detail}"),
        });
        state.ending.kill = Some((outcome, detail));
        state.parsing = false;
        self.signal(state, now);
    }

    fn signal(&mut self, state: &mut State, now: Instant) {
        if let Some(group) = self.group {
            group.terminate();
        }
        state.killing = Some(Killing {
            sigterm_at: now,
            sigkill_sent: false,
        });
    }

    /// SIGKILL to the whole group, bubblewrap included when it leads it.
    fn kill_group(&self) {
        if let Some(group) = self.group {
            group.kill();
        }
    }

    /// Kills whatever is left of the group, lets the parser finish, and builds the summary.
    fn end(mut self, mut state: State) -> Summary {
        self.kill_group();
        self.shared.mark_ended();
        let status = state.exit.and_then(|(status, _)| status);
        let exit_code = status.and_then(|s| s.code());
        if state.parsing {
            let now = Instant::now();
            for event in self.parser.finish(exit_code) {
                self.event(&mut state, event, now);
            }
        } else {
            // Killed: what the CLI says from now on cannot change the outcome, but usage the
            // parser only learns at the end (Codex's rollout file) is still spend.
            for event in self.parser.finish(exit_code) {
                if let AgentEvent::Usage { usage } = &event {
                    state.record.event(&event);
                    self.spend.update(usage);
                    self.shared
                        .set_spent(self.spend.spent_usd(), self.spend.estimated());
                    let _ = self.events.send(event);
                }
            }
        }
        state.ending.exit_code = exit_code;
        state.ending.signal = status.and_then(|s| s.signal());
        state.ending.duration = self.started.elapsed();
        state.ending.counted_turns = state.watchdog.turns();
        // Judged again at the end: a CLI that reports usage only with its result (or after it)
        // was never killed for it, and its final spend decides.
        state.ending.over_budget = self.over_budget();
        let summary = state.record.summary(&state.ending, &self.spend);
        self.shared
            .set_spent(self.spend.spent_usd(), self.spend.estimated());
        self.transcript.supervisor(&format!(
            "session ended: {:?}: {}",
            summary.outcome, summary.detail
        ));
        self.transcript.flush();
        summary
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        for helper in &self.helpers {
            helper.abort();
        }
        self.exited.abort();
    }
}

fn exit_text(status: Option<ExitStatus>) -> String {
    match status {
        Some(status) => match (status.code(), status.signal()) {
            (Some(code), _) => format!("process exited with code {code}"),
            (None, Some(signal)) => format!("process killed by signal {signal}"),
            (None, None) => "process ended".to_string(),
        },
        None => "process ended (its status is unknown)".to_string(),
    }
}
