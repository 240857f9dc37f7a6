//! The supervision rules, as pure logic over instants: output and events go in, warnings and
//! kill verdicts come out. The driver feeds it real time; the unit tests feed it made-up time.

use std::time::Instant;

use crate::event::AgentEvent;
use crate::summary::Outcome;
use crate::supervise::format::duration_text;
use crate::supervise::limits::Limits;

/// What the watchdog decided.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    /// Tell the stage (and the transcript), keep going.
    Warn(String),
    /// Kill the process group and end with this outcome.
    Kill {
        /// How the session ends.
        outcome: Outcome,
        /// The rule and its numbers.
        detail: String,
    },
}

/// A tool call between its start and its finish.
#[derive(Debug, Clone)]
struct RunningTool {
    id: String,
    name: String,
    /// When it became the newest running tool: its start, or when every newer tool finished.
    /// Its ceilings count from here, so an orphan left behind by newer calls never fires the
    /// moment those finish.
    newest_since: Instant,
    warned: bool,
}

/// The rules' state for one session.
#[derive(Debug)]
pub(crate) struct Watchdog {
    limits: Limits,
    last_output: Instant,
    frozen_warned: bool,
    /// Running tools, oldest first; only the last one is judged.
    tools: Vec<RunningTool>,
    turns: u32,
    turn_open: bool,
}

impl Watchdog {
    pub(crate) fn new(limits: Limits, now: Instant) -> Self {
        Watchdog {
            limits,
            last_output: now,
            frozen_warned: false,
            tools: Vec::new(),
            turns: 0,
            turn_open: false,
        }
    }

    /// Assistant turns counted so far.
    pub(crate) fn turns(&self) -> u32 {
        self.turns
    }

    /// A line arrived on stdout or stderr.
    pub(crate) fn output(&mut self, now: Instant) {
        self.last_output = now;
        self.frozen_warned = false;
    }

    /// An event from the parser: tracks tools and turns; may end the session at once (turns).
    pub(crate) fn event(&mut self, event: &AgentEvent, now: Instant) -> Option<Verdict> {
        match event {
            AgentEvent::ToolStarted { id, name, .. } => {
                if !self.tools.iter().any(|t| &t.id == id) {
                    self.tools.push(RunningTool {
                        id: id.clone(),
                        name: name.clone(),
                        newest_since: now,
                        warned: false,
                    });
                }
                self.assistant_output()
            }
            AgentEvent::AssistantText { .. } => self.assistant_output(),
            AgentEvent::ToolFinished { id, .. } => {
                self.turn_open = false;
                if let Some(index) = self.tools.iter().position(|t| &t.id == id) {
                    let was_newest = index + 1 == self.tools.len();
                    self.tools.remove(index);
                    if let Some(next) = self.tools.last_mut().filter(|_| was_newest) {
                        next.newest_since = now;
                        next.warned = false;
                    }
                }
                None
            }
            _ => None,
        }
    }

    fn assistant_output(&mut self) -> Option<Verdict> {
        if self.turn_open {
            return None;
        }
        self.turn_open = true;
        self.turns = self.turns.saturating_add(1);
        match self.limits.max_turns {
            Some(max) if self.turns > max => Some(Verdict::Kill {
                outcome: Outcome::MaxTurns,
                detail: format!(
                    "assistant turn {} started, past max_turns {max}",
                    self.turns
                ),
            }),
            _ => None,
        }
    }

    /// Judges the time-based rules. Returns warnings and at most one kill (last).
    pub(crate) fn tick(&mut self, now: Instant) -> Vec<Verdict> {
        let mut verdicts = Vec::new();
        let silent = now.saturating_duration_since(self.last_output);
        let limits = &self.limits;
        if let Some(tool) = self.tools.last_mut() {
            let running = now.saturating_duration_since(tool.newest_since);
            let (kind, warn, kill) = if limits.is_long_tool(&tool.name) {
                ("long", limits.long_tool_warn, limits.long_tool_kill)
            } else {
                ("quick", limits.quick_tool_warn, limits.quick_tool_kill)
            };
            if running >= kill {
                verdicts.push(Verdict::Kill {
                    outcome: Outcome::KilledToolCeiling,
                    detail: format!(
                        "tool `{}` (call {}) running for {}, past the {kind}-tool ceiling of {}",
                        tool.name,
                        tool.id,
                        duration_text(running),
                        duration_text(kill)
                    ),
                });
                return verdicts;
            }
            if running >= warn && !tool.warned {
                tool.warned = true;
                verdicts.push(Verdict::Warn(format!(
                    "tool `{}` (call {}) running for {} (a {kind} tool: killed at {})",
                    tool.name,
                    tool.id,
                    duration_text(running),
                    duration_text(kill)
                )));
            }
            if silent >= limits.silence_backstop {
                verdicts.push(Verdict::Kill {
                    outcome: Outcome::KilledSilence,
                    detail: format!(
                        "no output for {} although tool `{}` is running (absolute silence backstop {})",
                        duration_text(silent),
                        tool.name,
                        duration_text(limits.silence_backstop)
                    ),
                });
            }
            return verdicts;
        }
        if silent >= limits.inactivity || silent >= limits.silence_backstop {
            let limit = limits.inactivity.min(limits.silence_backstop);
            verdicts.push(Verdict::Kill {
                outcome: Outcome::KilledInactive,
                detail: format!(
                    "no output for {} with no tool running (inactivity limit {})",
                    duration_text(silent),
                    duration_text(limit)
                ),
            });
        } else if silent >= limits.frozen_warning && !self.frozen_warned {
            self.frozen_warned = true;
            verdicts.push(Verdict::Warn(format!(
                "no output for {} with no tool running: the agent may be frozen (killed at {})",
                duration_text(silent),
                duration_text(limits.inactivity)
            )));
        }
        verdicts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limits() -> Limits {
        Limits {
            inactivity: Duration::from_secs(20),
            frozen_warning: Duration::from_secs(3),
            silence_backstop: Duration::from_secs(50),
            quick_tool_warn: Duration::from_secs(2),
            quick_tool_kill: Duration::from_secs(5),
            long_tool_warn: Duration::from_secs(10),
            long_tool_kill: Duration::from_secs(45),
            max_turns: Some(2),
            ..Limits::default()
        }
    }

    fn at(start: Instant, secs: u64) -> Instant {
        start + Duration::from_secs(secs)
    }

    fn started(id: &str, name: &str) -> AgentEvent {
        AgentEvent::ToolStarted {
            id: id.into(),
            name: name.into(),
            input: serde_json::Value::Null,
        }
    }

    fn finished(id: &str) -> AgentEvent {
        AgentEvent::ToolFinished {
            id: id.into(),
            name: None,
            ok: true,
            output: String::new(),
        }
    }

    fn kill_outcome(verdicts: &[Verdict]) -> Option<Outcome> {
        verdicts.iter().find_map(|v| match v {
            Verdict::Kill { outcome, .. } => Some(*outcome),
            Verdict::Warn(_) => None,
        })
    }

    #[test]
    fn frozen_warning_once_then_inactivity_kill() {
        let t0 = Instant::now();
        let mut dog = Watchdog::new(limits(), t0);
        assert!(dog.tick(at(t0, 2)).is_empty());
        let warned = dog.tick(at(t0, 3));
        assert!(matches!(&warned[..], [Verdict::Warn(m)] if m.contains("frozen")));
        assert!(
            dog.tick(at(t0, 4)).is_empty(),
            "warned once per silent stretch"
        );
        let killed = dog.tick(at(t0, 20));
        assert_eq!(kill_outcome(&killed), Some(Outcome::KilledInactive));
        assert!(matches!(&killed[0], Verdict::Kill { detail, .. }
            if detail == "no output for 20s with no tool running (inactivity limit 20s)"));
    }

    #[test]
    fn output_resets_silence() {
        let t0 = Instant::now();
        let mut dog = Watchdog::new(limits(), t0);
        dog.output(at(t0, 15));
        assert!(
            dog.tick(at(t0, 30))
                .iter()
                .all(|v| matches!(v, Verdict::Warn(_)))
        );
        assert_eq!(
            kill_outcome(&dog.tick(at(t0, 35))),
            Some(Outcome::KilledInactive)
        );
    }

    #[test]
    fn running_tool_suspends_inactivity_but_not_its_ceiling() {
        let t0 = Instant::now();
        let mut dog = Watchdog::new(limits(), t0);
        dog.event(&started("1", "Bash"), t0);
        assert!(dog.tick(at(t0, 9)).is_empty());
        assert!(matches!(&dog.tick(at(t0, 10))[..], [Verdict::Warn(m)] if m.contains("`Bash`")));
        assert!(
            dog.tick(at(t0, 30)).is_empty(),
            "long tool: no inactivity kill"
        );
        assert_eq!(
            kill_outcome(&dog.tick(at(t0, 45))),
            Some(Outcome::KilledToolCeiling)
        );
    }

    #[test]
    fn only_the_newest_tool_is_judged() {
        let t0 = Instant::now();
        let mut dog = Watchdog::new(limits(), t0);
        dog.event(&started("old", "Read"), t0);
        dog.event(&started("new", "Bash"), at(t0, 1));
        assert_eq!(kill_outcome(&dog.tick(at(t0, 30))), None);
        // The newest finishes: the orphan is judged from now on, not from its start.
        dog.output(at(t0, 30));
        dog.event(&finished("new"), at(t0, 30));
        assert_eq!(kill_outcome(&dog.tick(at(t0, 34))), None);
        assert_eq!(
            kill_outcome(&dog.tick(at(t0, 35))),
            Some(Outcome::KilledToolCeiling)
        );
    }

    #[test]
    fn silence_backstop_fires_while_a_tool_runs() {
        let t0 = Instant::now();
        let mut limits = limits();
        limits.long_tool_kill = Duration::from_hours(1);
        let mut dog = Watchdog::new(limits, t0);
        dog.event(&started("1", "Task"), t0);
        assert_eq!(kill_outcome(&dog.tick(at(t0, 49))), None);
        assert_eq!(
            kill_outcome(&dog.tick(at(t0, 50))),
            Some(Outcome::KilledSilence)
        );
    }

    #[test]
    fn turns_are_assistant_stretches_between_tool_results() {
        let t0 = Instant::now();
        let mut dog = Watchdog::new(limits(), t0);
        let text = AgentEvent::AssistantText { text: "hi".into() };
        assert_eq!(dog.event(&text, t0), None);
        assert_eq!(dog.event(&started("a", "Read"), t0), None);
        assert_eq!(dog.event(&started("b", "Read"), t0), None);
        assert_eq!(dog.turns(), 1, "parallel calls are one turn");
        dog.event(&finished("a"), t0);
        dog.event(&finished("b"), t0);
        assert_eq!(dog.event(&text, t0), None);
        assert_eq!(dog.turns(), 2);
        dog.event(&started("c", "Read"), t0);
        dog.event(&finished("c"), t0);
        let verdict = dog.event(&text, t0);
        assert!(matches!(
            verdict,
            Some(Verdict::Kill {
                outcome: Outcome::MaxTurns,
                ..
            })
        ));
        assert_eq!(dog.turns(), 3);
    }
}
