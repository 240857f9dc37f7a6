//! One way to watch a run beside its progress: a [`Listener`] hears what it cares about, and
//! [`Listening`] passes everything on to the run's own [`Reporter`] unchanged. Every wrapper
//! (the run id `engine run` prints, a session's first run, the traces hook) is a listener, so
//! the pass-through is written once and a new `Reporter` method cannot be forgotten in one of
//! them.

use std::sync::Arc;

use engine_core::{Command, Event, RunState};
use engine_runtime::LogLevel;
use engine_store::RunMeta;

use super::Reporter;
use crate::history::order::StageOrder;

/// What a [`Listening`] reporter tells besides passing everything on. Each method has an
/// empty default.
pub trait Listener: Send + Sync {
    /// A new run was recorded (heard before the run's own reporter hears it, so its id is
    /// known first).
    fn run_recorded(&self, _run_id: &str) {}
    /// A transition was stored (heard after the run's own reporter).
    fn transition(&self, _after: &RunState) {}
    /// The run ended (heard after the run's own reporter).
    fn run_finished(&self, _state: &RunState) {}
}

/// A [`Reporter`] that passes everything on to `inner` and tells `listener` too.
pub struct Listening<L> {
    /// The run's own reporter.
    pub inner: Arc<dyn Reporter>,
    /// Who listens besides.
    pub listener: L,
}

impl<L: Listener> Reporter for Listening<L> {
    fn run_recorded(&self, run_id: &str) {
        self.listener.run_recorded(run_id);
        self.inner.run_recorded(run_id);
    }

    fn run_started(&self, meta: &RunMeta, resumed: bool) {
        self.inner.run_started(meta, resumed);
    }

    fn transition(&self, event: &Event, after: &RunState, commands: &[Command]) {
        self.inner.transition(event, after, commands);
        self.listener.transition(after);
    }

    fn stage_log(&self, stage: &str, attempt: u32, level: LogLevel, message: &str) {
        self.inner.stage_log(stage, attempt, level, message);
    }

    fn run_finished(&self, state: &RunState, order: &StageOrder) {
        self.inner.run_finished(state, order);
        self.listener.run_finished(state);
    }

    fn note(&self, text: &str) {
        self.inner.note(text);
    }

    fn message(&self, text: &str) {
        self.inner.message(text);
    }

    fn warning(&self, text: &str) {
        self.inner.warning(text);
    }
}

/// Tells `output` the first run recorded ([`crate::output::Output::run_id`]); with `print`,
/// also prints its id on stdout (`engine run` without `--json`: the moment the run is
/// recorded, before its worktree, claim or first stage, so a run killed in its first moments
/// still told its id). A session uses it without `print`: whoever started it learns that it
/// got going.
pub struct FirstRunId {
    output: Arc<dyn crate::output::Output>,
    print: bool,
    said: std::sync::atomic::AtomicBool,
}

impl FirstRunId {
    /// Tells `output`, printing the id when `print`.
    pub fn new(output: Arc<dyn crate::output::Output>, print: bool) -> Self {
        FirstRunId {
            output,
            print,
            said: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

impl Listener for FirstRunId {
    fn run_recorded(&self, run_id: &str) {
        if !self.said.swap(true, std::sync::atomic::Ordering::SeqCst) {
            self.output.run_id(run_id);
            if self.print {
                self.output.out(run_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Heard(Mutex<Vec<String>>);

    impl Reporter for Heard {
        fn run_recorded(&self, run_id: &str) {
            self.0
                .lock()
                .unwrap()
                .push(format!("reporter recorded {run_id}"));
        }
        fn run_started(&self, _: &RunMeta, _: bool) {}
        fn transition(&self, _: &Event, _: &RunState, _: &[Command]) {}
        fn stage_log(&self, _: &str, _: u32, _: LogLevel, message: &str) {
            self.0
                .lock()
                .unwrap()
                .push(format!("reporter log {message}"));
        }
        fn note(&self, text: &str) {
            self.0.lock().unwrap().push(format!("reporter note {text}"));
        }
        fn message(&self, text: &str) {
            self.0
                .lock()
                .unwrap()
                .push(format!("reporter message {text}"));
        }
    }

    struct Ears(Arc<Heard>);

    impl Listener for Ears {
        fn run_recorded(&self, run_id: &str) {
            self.0
                .0
                .lock()
                .unwrap()
                .push(format!("listener recorded {run_id}"));
        }
    }

    #[test]
    fn everything_reaches_the_reporter_and_the_listener_hears_the_id_first() {
        let heard = Arc::new(Heard::default());
        let listening = Listening {
            inner: heard.clone(),
            listener: Ears(heard.clone()),
        };
        listening.run_recorded("01RUN");
        listening.stage_log("a", 1, LogLevel::Info, "line");
        listening.note("noted");
        listening.warning("careful");
        assert_eq!(
            *heard.0.lock().unwrap(),
            [
                "listener recorded 01RUN",
                "reporter recorded 01RUN",
                "reporter log line",
                "reporter note noted",
                "reporter message warning: careful",
            ]
        );
    }
}
