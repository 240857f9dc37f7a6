//! End-to-end: approval stages wait for a human, durably. `engine approve` / `engine reject`
//! answer a run that an engine process is driving (through the control directory) and one that
//! nobody drives (recorded directly, `engine resume` continues); a timeout follows `on_timeout`.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Child;

use support::{TestRepo, kill9, outcomes, wait_for_line};

const GATED: &str = r#"
name: gated
stages:
  build:
    uses: builtin:gate
    with: { commands: ["sh -c 'echo build'"] }
    permissions: { workspace: read, exec: [sh] }
  ship:
    uses: builtin:approval
    needs: [build]
    with: { message: "Check the build output, then approve." }
    on_failure: { goto: build, max_loops: 1 }
  after:
    uses: builtin:gate
    needs: [ship]
    with: { commands: ["sh -c 'echo shipped'"] }
    permissions: { workspace: read, exec: [sh] }
"#;

/// Starts `engine run` and waits until the approval stage waits; returns the child, its stderr
/// reader and the run id.
fn start_waiting(repo: &TestRepo) -> (Child, impl BufRead, String, String) {
    let wf = repo.workflow(GATED);
    let mut child = repo.spawn(&["run", wf.to_str().unwrap(), "--task", "Ship it"], &[]);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut run_id = String::new();
    stdout.read_line(&mut run_id).unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    // The wait line, then what to tell the human and how to answer.
    assert!(wait_for_line(&mut stderr, "reject:", &mut seen), "{seen}");
    assert!(seen.contains("waits for approval"), "{seen}");
    (child, stderr, run_id.trim().to_string(), seen)
}

#[test]
fn an_approval_wait_survives_a_crash_and_an_answer_given_meanwhile_is_kept() {
    let repo = TestRepo::new();
    let (mut child, _stderr, run_id, seen) = start_waiting(&repo);
    assert!(seen.contains("Check the build output"), "{seen}");
    assert!(
        seen.contains(&format!("engine approve {run_id} --stage ship")),
        "{seen}"
    );
    // The machine dies while the run waits.
    kill9(&mut child);

    // Nobody drives the run now: the answer is recorded directly.
    let approve = repo.run(&["approve", &run_id, "--by", "ana"]);
    assert_eq!(approve.code(), 0, "{}", approve.stderr());
    assert!(
        approve.stdout().contains("engine resume"),
        "{}",
        approve.stdout()
    );
    // A second answer is refused: the stage no longer waits.
    let again = repo.run(&["reject", &run_id, "--reason", "too late"]);
    assert_eq!(again.code(), 2, "{}", again.stderr());

    let resume = repo.run(&["resume", &run_id]);
    assert_eq!(resume.code(), 0, "{}", resume.stderr());
    let show = repo.show(&run_id);
    let stages = &show["state"]["stages"];
    assert_eq!(stages["ship"]["phase"]["phase"], "succeeded");
    assert_eq!(stages["ship"]["outputs"]["by"], "ana");
    // `after` was due to start when the answer was recorded; no process ran it until the
    // resume, which counts that attempt as interrupted and runs the next.
    assert_eq!(
        outcomes(&show)["after"].last().map(String::as_str),
        Some("succeeded")
    );
    // The build ran once: the crash did not make it run again.
    assert_eq!(outcomes(&show)["build"], vec!["succeeded"]);
}

#[test]
fn a_live_rejection_sends_the_run_back_and_a_live_approval_finishes_it() {
    let repo = TestRepo::new();
    let (mut child, mut stderr, run_id, _) = start_waiting(&repo);

    let reject = repo.run(&[
        "reject",
        &run_id,
        "--stage",
        "ship",
        "--reason",
        "build with the new flag",
    ]);
    assert_eq!(reject.code(), 0, "{}", reject.stderr());
    let mut seen = String::new();
    assert!(
        wait_for_line(&mut stderr, "waits for approval", &mut seen),
        "{seen}"
    );
    assert!(seen.contains("rejected by"), "{seen}");
    assert!(seen.contains("sent back by ship"), "{seen}");

    let approve = repo.run(&["approve", &run_id]);
    assert_eq!(approve.code(), 0, "{}", approve.stderr());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let show = repo.show(&run_id);
    let outcomes = outcomes(&show);
    assert_eq!(outcomes["build"], vec!["succeeded", "succeeded"]);
    assert_eq!(outcomes["ship"], vec!["failed", "succeeded"]);
    let feedback = &show["state"]["stages"]["ship"]["history"][0]["outcome"]["failure"];
    assert!(
        feedback["message"]
            .as_str()
            .unwrap()
            .contains("build with the new flag"),
        "{feedback}"
    );
}

#[test]
fn a_timeout_follows_on_timeout() {
    let repo = TestRepo::new();
    for (policy, code, status) in [("approve", 0, "succeeded"), ("fail", 1, "failed")] {
        let wf = repo.workflow(&format!(
            r#"
name: timed
stages:
  ship:
    uses: builtin:approval
    with: {{ timeout: 1s, on_timeout: {policy} }}
"#
        ));
        let run = repo.run(&["run", wf.to_str().unwrap(), "--task", "Wait a bit"]);
        assert_eq!(run.code(), code, "{policy}: {}", run.stderr());
        assert!(
            run.stderr().contains("nobody answered in time"),
            "{}",
            run.stderr()
        );
        assert_eq!(
            repo.show(&run.run_id())["state"]["status"]["status"],
            status
        );
    }
}

#[test]
fn reject_needs_a_reason_and_unknown_runs_are_refused() {
    let repo = TestRepo::new();
    let no_reason = repo.run(&["reject", "01ABC", "--reason", " "]);
    assert_eq!(no_reason.code(), 2, "{}", no_reason.stderr());
    let unknown = repo.run(&["approve", "01NOSUCHRUN"]);
    assert_eq!(unknown.code(), 2, "{}", unknown.stderr());
}
