//! `ENGINE_DEBUG_HOLD`: a deterministic pause around one commit, for crash tests and for
//! debugging recovery by hand. `ENGINE_DEBUG_HOLD=after:3` makes the driver announce on stderr
//! and wait forever right after the transition with sequence number 3 is stored (so a `kill -9`
//! lands exactly between a durable transition and its side effects); `before:3` waits just
//! before storing it. Unset (the normal case) it costs nothing.
//!
//! Named crash points hold at a moment that is not a transition (`ENGINE_DEBUG_HOLD=at:NAME`):
//!
//! - `worktree-add`: a new run is recorded, its worktree not created yet;
//! - `worktree-checkout`: the run's worktree is registered with git on its branch (locked as
//!   being created) but its files are not checked out yet: the window of a killed
//!   `git worktree add`;
//! - `pool-claim`: an idle worktree of the pool (`git.worktree_pool`) has been renamed to a new
//!   run's place, its registration locked as being claimed, and it is not switched to the
//!   run's branch yet (still the earlier run's files);
//! - `pool-park`: an ended run's worktree has been renamed into the pool, and its registration
//!   with git is not deleted yet;
//! - `worktree-remove`: the run ended and its `finally:` stages ran, its worktree is not
//!   removed yet (nor kept: the hold comes before `git.keep_worktree` is applied);
//! - `merge-checkout-sync`: a stage's `git update-ref` succeeded (`builtin:merge` moved the
//!   base branch) and the stage has not gone on: the checkouts of the base are not synced yet,
//!   so the user's checkout has its `HEAD` on the merge and its index and files before it.
//! - `reviews-pushed`: `engine reviews` pushed a fix to a pull request's branch and has not
//!   recorded the push nor posted a reply yet.
//! - `plan-write`: `engine plan` wrote and synced a file's new text to its temporary file and
//!   has not renamed it over the file yet.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The named crash points (`ENGINE_DEBUG_HOLD=at:NAME`).
pub const POINTS: &[&str] = &[
    "worktree-add",
    "worktree-checkout",
    "pool-claim",
    "pool-park",
    "worktree-remove",
    "merge-checkout-sync",
    "reviews-pushed",
    "plan-write",
];

/// A stage's `git update-ref` is running (only tracked while `merge-checkout-sync` is asked for).
static UPDATE_REF_RUNNING: AtomicBool = AtomicBool::new(false);

/// Whether `ENGINE_DEBUG_HOLD=at:<point>`.
fn asked(point: &str) -> bool {
    std::env::var("ENGINE_DEBUG_HOLD").is_ok_and(|value| value.strip_prefix("at:") == Some(point))
}

/// Told about every program a stage starts (see [`exec_finished`]).
pub fn exec_started(program: &str, args: &[String]) {
    if asked("merge-checkout-sync") {
        let update_ref = program == "git" && args.first().is_some_and(|a| a == "update-ref");
        UPDATE_REF_RUNNING.store(update_ref, Ordering::SeqCst);
    }
}

/// Told about every program a stage finished: holds at `merge-checkout-sync` right after a
/// successful `git update-ref`, before the stage learns of it.
pub fn exec_finished(program: &str, exit_code: Option<i32>) {
    if program == "git" && UPDATE_REF_RUNNING.swap(false, Ordering::SeqCst) && exit_code == Some(0)
    {
        at("merge-checkout-sync");
    }
}

/// Where to hold, parsed from the environment once per drive.
pub struct Hold {
    before: Option<u64>,
    after: Option<u64>,
}

/// Holds forever if `ENGINE_DEBUG_HOLD=at:<point>` (one of [`POINTS`]); blocks the calling
/// thread, so it works in synchronous code too.
pub fn at(point: &str) {
    debug_assert!(POINTS.contains(&point), "unknown crash point {point}");
    let Ok(value) = std::env::var("ENGINE_DEBUG_HOLD") else {
        return;
    };
    if value.strip_prefix("at:") != Some(point) {
        return;
    }
    // Straight to stderr, past any reporter (and with --json too): this line is a protocol
    // the crash tests wait for before they kill the process.
    eprintln!("engine: ENGINE_DEBUG_HOLD: holding at {point}");
    loop {
        std::thread::sleep(Duration::from_hours(1));
    }
}

impl Hold {
    /// Never holds (the commits made outside the driver).
    pub const fn none() -> Self {
        Hold {
            before: None,
            after: None,
        }
    }

    /// Reads `ENGINE_DEBUG_HOLD`. Malformed values are ignored with a warning.
    pub fn from_env() -> Self {
        let mut hold = Hold::none();
        let Ok(value) = std::env::var("ENGINE_DEBUG_HOLD") else {
            return hold;
        };
        let parsed = value
            .split_once(':')
            .and_then(|(when, seq)| Some((when, seq.parse::<u64>().ok()?)));
        match parsed {
            Some(("before", seq)) => hold.before = Some(seq),
            Some(("after", seq)) => hold.after = Some(seq),
            _ if value
                .strip_prefix("at:")
                .is_some_and(|point| POINTS.contains(&point)) => {}
            _ => tracing::warn!("ignoring malformed ENGINE_DEBUG_HOLD={value:?}"),
        }
        hold
    }

    /// Holds if asked to before storing transition `seq`.
    pub async fn before_commit(&self, seq: u64) {
        if self.before == Some(seq) {
            wait_forever("before storing", seq).await;
        }
    }

    /// Holds if asked to after storing transition `seq`.
    pub async fn after_commit(&self, seq: u64) {
        if self.after == Some(seq) {
            wait_forever("after storing", seq).await;
        }
    }
}

async fn wait_forever(when: &str, seq: u64) {
    // Straight to stderr, past any reporter: a protocol the crash tests read (see [`at`]).
    eprintln!("engine: ENGINE_DEBUG_HOLD: holding {when} transition {seq}");
    loop {
        tokio::time::sleep(Duration::from_hours(1)).await;
    }
}
