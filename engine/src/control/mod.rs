//! Many runs per repository: the engine process that holds a state directory (`engine run`,
//! `resume`, `retry`, `run --all`, `watch`) also serves a control socket in it
//! (`<state>/control.sock`, owner-only). Another of those commands started meanwhile does not
//! fail on the lock: it submits itself over the socket, the holder carries it out beside its
//! own runs, and the submitting terminal prints what the command prints and exits with its exit
//! code, as if it ran there.
//!
//! - [`protocol`]: the messages (one JSON line each);
//! - [`socket`]: the socket file, its permissions and who may talk to it;
//! - [`holder`]: the serving side ([`Holder`]), which keeps its process alive while it drives
//!   submitted runs and stops taking requests once it has none;
//! - [`client`]: the submitting side: reach the holder or become it ([`client::reach`]), then
//!   stream a command's output ([`client::submit`]).
//!
//! Crash safety: a submitted run is recorded before the client learns its id; when the holder
//! dies (kill -9) or stops (SIGINT/SIGTERM hands its submitted runs back), each submitting
//! terminal takes its run over — it becomes the holder, or submits `resume` to whichever
//! process became it — so no submitted run is left behind while its terminal waits for it.

pub mod client;
pub mod holder;
pub mod protocol;
pub mod socket;

use std::sync::Arc;

use engine_git::Repo;
use engine_runtime::Host;
use engine_store::StateDir;
use tokio::sync::watch;

use crate::driver::Lanes;
use crate::queue::{DriveOptions, Slots};
use crate::report::Reporter;
use crate::time::Clock;

pub use holder::{Executor, Holder};
pub use protocol::{ControlCommand, Envelope, Reply, Request, SessionSubmission, Submission};

/// What the process holding a state directory shares with every run it drives, its own and
/// the submitted ones.
#[derive(Clone)]
pub struct Holding {
    /// The repository.
    pub repo: Repo,
    /// The state directory, held.
    pub state_dir: Arc<StateDir>,
    /// The wasm host.
    pub host: Arc<Host>,
    /// Where the runs' times come from.
    pub clock: Arc<dyn Clock>,
    /// Merge turns: one lane per base branch for all the runs of the process.
    pub lanes: Arc<Lanes>,
    /// Turns of the workflows' concurrency groups.
    pub slots: Arc<Slots>,
    /// Turns `true` when the holder is asked to stop (SIGINT/SIGTERM): submitted runs stop at
    /// their last stored transition and go back to their terminals.
    pub stopping: watch::Receiver<bool>,
}

impl Holding {
    /// What a process that took state directory `state_dir` drives its runs with; the sender
    /// flips [`Holding::stopping`] (see [`holder::Holder::start`]).
    pub fn new(
        repo: Repo,
        state_dir: StateDir,
        host: Arc<Host>,
        clock: Arc<dyn Clock>,
    ) -> (Holding, watch::Sender<bool>) {
        let (stop, stopping) = watch::channel(false);
        let holding = Holding {
            repo,
            state_dir: Arc::new(state_dir),
            host,
            clock,
            lanes: Arc::new(Lanes::default()),
            slots: Arc::new(Slots::default()),
            stopping,
        };
        (holding, stop)
    }

    /// How a run of this process is driven: every run stops when the holder stops (submitted
    /// ones go back to their terminals); the holder's own run also handles SIGINT/SIGTERM
    /// itself.
    pub fn drive_options(&self, reporter: Arc<dyn Reporter>, submitted: bool) -> DriveOptions {
        DriveOptions {
            reporter,
            handle_signals: !submitted,
            stop: Some(self.stopping.clone()),
            lanes: Some(self.lanes.clone()),
            slots: Some(self.slots.clone()),
        }
    }
}

/// How a command carried out for a client ended.
#[derive(Debug, Clone)]
pub enum Finish {
    /// With this exit code.
    Exit(u8),
    /// Its run was stopped because the holder stops: the client takes the run over.
    HandBack(String),
    /// With an error: what `engine` prints for it, its exit code and, for `--json`, the error
    /// document.
    Failed {
        /// The error report (lines).
        report: String,
        /// The exit code.
        code: u8,
        /// The `--json` error document.
        document: Option<serde_json::Value>,
    },
}
