//! How long `tasks-md` takes on a large file: reading a generated tasks.md of 1000 tasks and
//! writing one status back (the golden tests check what comes out, never how fast).
//!
//! ```sh
//! cargo bench --manifest-path plugins/Cargo.toml --target-dir target \
//!   -p engine-tasks-md --bench thousand_tasks
//! ```
//!
//! Prints the median and the range over the rounds (`ROUNDS`, default 20).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and bench code: a failed unwrap is a failed test, with its message"
)]

use std::time::{Duration, Instant};

use engine_source_sdk::TaskStatus;
use engine_tasks_md::{list_text, writeback};

#[path = "../tests/generated/mod.rs"]
mod generated;

fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .filter(|&r| r > 0)
        .unwrap_or(20);
    let text = generated::tasks_md(1000);
    let mut parse = Vec::with_capacity(rounds);
    let mut write_back = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        let list = list_text(&text, "spec/tasks.md");
        parse.push(start.elapsed());
        assert!(list.is_ok_and(|l| l.tasks.len() == 1000), "the file parses");

        let start = Instant::now();
        let after =
            writeback::set_status(&text, "spec/tasks.md", "TASK-0500", TaskStatus::Done, true);
        write_back.push(start.elapsed());
        assert!(after.is_ok(), "the status is written back");
    }
    println!(
        "1000 tasks ({} KiB), {rounds} rounds: parse {}, write-back {}",
        text.len() / 1024,
        summary(&mut parse),
        summary(&mut write_back)
    );
}

/// `median (min–max)` of the measured times.
fn summary(times: &mut [Duration]) -> String {
    times.sort();
    let (min, median, max) = (times[0], times[times.len() / 2], times[times.len() - 1]);
    format!("{median:.2?} ({min:.2?}–{max:.2?})")
}
