//! `engine logs` and failure output where people look: a failing test's assertion text in
//! `engine logs`, in the terminal progress of `engine run` and under the stage in
//! `engine show`; the output of passing commands kept; the size cap; `logs -f` following a run
//! driven by another process; the agent's text and tool calls.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};

use crate::support::agent::ScriptedAgent;
use crate::support::process::{PATIENCE, signal};
use crate::support::{Handshake, TestRepo, Workflow};

/// What a failing `cargo test` prints, as a shell script that exits 1.
const FAILING_TEST: &str = r#"echo "running 2 tests"
echo "test tests::adds_one ... ok"
echo "test tests::adds_two ... FAILED"
echo "thread 'tests::adds_two' panicked at src/lib.rs:9:5:" >&2
echo "assertion failed: add(2, 2) == 5" >&2
exit 1
"#;

/// `lint` (passing, printing a line) then `test` (the failing test script), each tried once.
const LINT_THEN_TEST: &str = r#"
name: ci
defaults:
  retry: { max_attempts: 1 }
stages:
  lint:
    uses: builtin:gate
    with: { commands: ["sh lint.sh"] }
    permissions: { workspace: read, exec: [sh] }
  test:
    uses: builtin:gate
    needs: [lint]
    with: { commands: ["sh test.sh"] }
    permissions: { workspace: read, exec: [sh] }
"#;

fn failing_test_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("lint.sh", "echo 'lint is clean: 0 warnings'\n")
        .write("test.sh", FAILING_TEST)
        .commit_all("scripts");
    repo.workflow(LINT_THEN_TEST);
    repo
}

#[test]
fn a_failing_tests_assertion_is_in_logs_in_the_run_output_and_in_show() {
    let repo = failing_test_repo();
    let run = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Fix the adder")
        .run();
    run.exits(1);
    let run_id = run.run_id();
    // The terminal progress shows the end of the failing command's output under its failure.
    run.stderr_has("✗ test (attempt 1)")
        .stderr_has("  test | assertion failed: add(2, 2) == 5")
        .stderr_has("  test | test tests::adds_two ... FAILED");

    // `engine logs` (the latest run): every line each stage printed, in order, tagged.
    let logs = repo.run(&["logs"]);
    logs.succeeds()
        .stdout_has("lint#1 exec  $ sh lint.sh")
        .stdout_has("lint#1 out   lint is clean: 0 warnings")
        .stdout_has("test#1 out   test tests::adds_two ... FAILED")
        .stdout_has("test#1 err   assertion failed: add(2, 2) == 5")
        .stdout_has("test#1 exec  sh exited 1 after");
    let out = logs.stdout();
    let at = |needle: &str| {
        out.find(needle)
            .unwrap_or_else(|| panic!("{needle}: {out}"))
    };
    assert!(at("lint#1 out") < at("test#1 exec  $ sh test.sh"), "{out}");
    // In order within each stream (stdout and stderr are two pipes: lines written to both at
    // the same moment may come in either order).
    assert!(at("running 2 tests") < at("adds_two ... FAILED"), "{out}");
    assert!(
        at("panicked at src/lib.rs:9:5") < at("add(2, 2) == 5"),
        "{out}"
    );

    // One stage, one attempt; a stage the run does not have is an error naming its stages.
    let only_lint = repo.run(&["logs", &run_id, "--stage", "lint", "--attempt", "1"]);
    only_lint.succeeds().stdout_has("lint is clean");
    only_lint.never_prints("assertion failed");
    repo.run(&["logs", &run_id, "--stage", "tset"])
        .exits(2)
        .stderr_has("--stage tset: run")
        .stderr_has("its stages: lint, test");

    // `engine show` (text) has the tail under the failed stage.
    repo.run(&["show", &run_id])
        .succeeds()
        .stdout_has(&format!(
            "output of attempt 1 (last lines; all of it: engine logs {run_id} --stage test \
             --attempt 1):"
        ))
        .stdout_has("    | assertion failed: add(2, 2) == 5");
}

#[test]
fn ten_mebibytes_of_output_keep_their_head_and_tail_and_say_what_was_cut() {
    let repo = TestRepo::new();
    repo.write(
        "big.sh",
        "echo FIRST-LINE\nyes 'filler line of output' | head -c 10485760\necho\necho LAST-LINE\n",
    )
    .commit_all("big");
    repo.workflow(
        r#"
name: big
stages:
  big:
    uses: builtin:gate
    with: { commands: ["sh big.sh"] }
    permissions: { workspace: read, exec: [sh] }
"#,
    );
    let run = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Print a lot")
        .run();
    run.succeeds();
    let logs = repo.run(&["logs", &run.run_id(), "--stage", "big"]);
    logs.succeeds()
        .stdout_has("big#1 out   FIRST-LINE")
        .stdout_has("big#1 out   LAST-LINE")
        .stdout_has("lines) cut here: the first 256.0 KiB and the last 256.0 KiB of each program's output are kept]");
    let out = logs.stdout();
    let cut = out
        .lines()
        .position(|l| l.starts_with("big#1 cut"))
        .unwrap();
    let first = out.lines().position(|l| l.ends_with("FIRST-LINE")).unwrap();
    let last = out.lines().position(|l| l.ends_with("LAST-LINE")).unwrap();
    assert!(first < cut && cut < last, "head, cut, tail in order");
    // Head and tail: about 512 KiB of output (with the tags), nowhere near 10 MiB.
    assert!(
        (400 * 1024..2 * 1024 * 1024).contains(&out.len()),
        "{} bytes",
        out.len()
    );
}

/// An `engine logs -f` process, killed if the test fails before it ends, or after
/// [`PATIENCE`] (a follower that never ends would otherwise hang the test: killed, its stdout
/// ends and the test fails saying what it printed).
struct Follower {
    child: Child,
    _watchdog: std::sync::mpsc::Sender<()>,
}

impl Follower {
    fn new(child: Child) -> Follower {
        let (watchdog, ended) = std::sync::mpsc::channel::<()>();
        let pid = child.id();
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = ended.recv_timeout(PATIENCE) {
                signal(pid, libc::SIGKILL);
            }
        });
        Follower {
            child,
            _watchdog: watchdog,
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn logs_follow_prints_what_a_run_driven_elsewhere_writes_and_ends_with_it() {
    let repo = TestRepo::new();
    let handshake = Handshake::new();
    repo.workflow(&format!(
        r#"
name: slow
stages:
  slow:
    uses: builtin:gate
    with: {{ commands: ["sh -c 'echo before-the-wait; {wait}; echo after-the-go'"] }}
    permissions: {{ workspace: read, exec: [sh] }}
    {grant}
"#,
        wait = handshake.announce_and_wait("slow"),
        grant = handshake.grant(),
    ));
    let mut run = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Take a while")
        .spawn();
    let run_id = run.read_run_id();
    run.wait_for_file(&handshake.started_file("slow"));

    // Another process follows the run that `engine run` drives.
    let mut command = repo.engine().args(["logs", &run_id, "-f"]);
    let child = command
        .command_mut()
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut follower = Follower::new(child);
    let mut out = BufReader::new(follower.child.stdout.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = out.read_line(&mut line).unwrap();
        assert!(n > 0, "logs -f ended before the first line:\n{seen}");
        seen.push_str(&line);
        // (The `exec` line, `$ sh -c ...`, names both words: wait for the output line.)
        if line.contains("slow#1 out   before-the-wait") {
            break;
        }
    }
    assert!(!seen.contains("out   after-the-go"), "{seen}");
    // Written only now, after the follower printed the first line.
    handshake.release();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let status = follower.child.wait().unwrap();
    assert!(rest.contains("slow#1 out   after-the-go"), "{rest}");
    assert!(rest.contains("slow#1 exec  sh exited 0"), "{rest}");
    // It ended with the run, with the run's exit code.
    assert_eq!(status.code(), Some(0), "{seen}{rest}");
    let (code, stderr) = run.wait();
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn the_agents_text_is_on_the_terminal_in_one_line_and_whole_in_the_logs() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(
        r#"
- - say: "Implementing the greeting.\nFirst the file, then the test."
  - write: {path: greet.txt, content: "hello\n"}
  - say: "All done. <promise>COMPLETE</promise>"
"#,
    );
    Workflow::named("agent-logs")
        .agents(&agent, "limits: { post_result_grace: 1s }")
        .stage(
            "execute",
            "uses: builtin:agent\nwith: { backend: claude, completion: promise }\n\
             permissions: { workspace: write, agent: true }\nretry: { max_attempts: 1 }",
        )
        .write(&repo);
    let run = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Add a greeting")
        .run();
    run.succeeds()
        .stderr_has("  execute · agent: Implementing the greeting. First the file, then the test.");
    repo.run(&["logs", &run.run_id()])
        .succeeds()
        .stdout_has("execute#1 agent Implementing the greeting.\n")
        .stdout_has("execute#1 agent First the file, then the test.\n")
        .stdout_has("execute#1 tool  Write {")
        .stdout_has("greet.txt")
        .stdout_has("execute#1 agent All done. <promise>COMPLETE</promise>");
}

/// One write stage that runs `true`: a run with a git worktree and little else.
const NOTE_STAGE: &str = r#"stages:
  note:
    uses: builtin:gate
    with: { commands: ["true"] }
    permissions: { workspace: write, exec: ["true"] }
"#;

#[test]
fn debug_logs_time_the_start_every_git_command_and_every_stored_transition() {
    let repo = TestRepo::new();
    repo.workflow(&format!("name: timed\n{NOTE_STAGE}"));
    let out = repo
        .engine()
        .args(["run", "workflow.yaml", "--task", "time it"])
        .env(
            "RUST_LOG",
            "engine=debug,engine_git=debug,engine_store=debug",
        )
        .run();
    out.succeeds();
    let stderr = out.stderr();
    for step in ["state directory opened", "workflow prepared"] {
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(step) && l.contains("ms=")),
            "{step}: {stderr}"
        );
    }
    // The worktree's registration is written in-process; its checkout is a git command.
    let git_lines: Vec<&str> = stderr.lines().filter(|l| l.contains("git ran")).collect();
    assert!(
        git_lines
            .iter()
            .any(|l| l.contains("reset --hard") && l.contains("ms=") && l.contains("status=")),
        "{stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("transition stored") && l.contains("seq=") && l.contains("ms=")),
        "{stderr}"
    );
    // Without the directive, neither appears.
    let quiet = repo
        .engine()
        .args(["run", "workflow.yaml", "--task", "again"])
        .run();
    quiet.succeeds();
    assert!(!quiet.stderr().contains("git ran"), "{}", quiet.stderr());
}

#[test]
fn debug_logs_time_each_listing_run_begin_and_write_back_of_a_task_source() {
    let repo = TestRepo::new();
    repo.write(
        "spec/tasks.md",
        "# Tasks\n\n### TASK-1: First\nP1 | TODO\n\n### TASK-2: Second\nP1 | TODO\n",
    );
    repo.git(&["add", "spec/tasks.md"]);
    repo.git(&["commit", "-q", "-m", "tasks"]);
    repo.workflow(&format!(
        "name: timed-source\n\
         tasks: {{ source: tasks-md, path: spec/tasks.md, permissions: {{ workspace: write }} }}\n\
         {NOTE_STAGE}"
    ));
    let out = repo
        .engine()
        .args(["run", "workflow.yaml", "--all"])
        .env("RUST_LOG", "engine=debug")
        .run();
    out.succeeds();
    let stderr = out.stderr();
    let lines = |what: &str| {
        stderr
            .lines()
            .filter(|l| l.contains(what) && l.contains(" ms="))
            .count()
    };
    assert!(lines("tasks listed tasks=2") >= 2, "{stderr}");
    let begun: Vec<&str> = stderr.lines().filter(|l| l.contains("run begun")).collect();
    assert_eq!(begun.len(), 2, "{stderr}");
    assert!(
        begun
            .iter()
            .all(|l| l.contains("recorded_ms=") && l.contains("claimed_ms=") && l.contains(" ms=")),
        "{stderr}"
    );
    assert_eq!(lines("run's end written back to its task"), 2, "{stderr}");
}
