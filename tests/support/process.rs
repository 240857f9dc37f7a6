//! Processes and waiting: signals, what is still running, and waiting for a condition with a
//! generous deadline (polling, never a fixed sleep that orders events).

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

/// How long a test waits for something that takes milliseconds when all is well: generous, for
/// a loaded machine; reaching it fails the test.
pub const PATIENCE: Duration = Duration::from_mins(1);

/// Sends `signal` (`libc::SIGTERM`...) to process `pid`.
pub fn signal(pid: u32, signal: i32) {
    let pid = i32::try_from(pid).unwrap_or_else(|_| panic!("pid {pid} out of range"));
    // SAFETY: kill(2) takes two integers and touches no memory of ours; at worst it fails
    // with ESRCH for a process that is gone.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Sends SIGKILL to a child and reaps it.
pub fn kill9(child: &mut Child) {
    signal(child.id(), libc::SIGKILL);
    let _ = child.wait();
}

/// Polls `ready` every 20 ms until it holds; fails the test with `what` after [`PATIENCE`].
#[track_caller]
pub fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !ready() {
        assert!(Instant::now() < deadline, "waited {PATIENCE:?} for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `path` exists (a handshake file a stage's program writes).
#[track_caller]
pub fn wait_for_file(path: &Path) {
    wait_until(&format!("{} to appear", path.display()), || path.exists());
}

/// The command lines of the processes whose command line contains `marker`.
pub fn processes_named(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(marker) {
            found.push(format!(
                "{}: {cmdline}",
                entry.file_name().to_string_lossy()
            ));
        }
    }
    found
}

/// The command lines of the processes whose working directory is inside `dir`.
pub fn processes_under(dir: &Path) -> Vec<String> {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(cwd) = std::fs::read_link(entry.path().join("cwd")) else {
            continue;
        };
        if cwd.starts_with(&dir) {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            found.push(String::from_utf8_lossy(&cmdline).replace('\0', " "));
        }
    }
    found
}

/// Waits (up to 5 s) until no process works inside `dir`: what a killed engine's attempts
/// started must die with it.
#[track_caller]
pub fn assert_no_process_under(dir: &Path) {
    assert_gone_within(
        Duration::from_secs(5),
        "processes of a killed attempt survived",
        || processes_under(dir),
    );
}

/// Waits (up to 5 s) until no process's command line carries `marker`.
#[track_caller]
pub fn assert_no_process_named(marker: &str) {
    assert_gone_within(
        Duration::from_secs(5),
        "processes of the attempt survived",
        || processes_named(marker),
    );
}

#[track_caller]
fn assert_gone_within(limit: Duration, what: &str, mut list: impl FnMut() -> Vec<String>) {
    let deadline = Instant::now() + limit;
    loop {
        let found = list();
        if found.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {found:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
