//! The sandbox through the real binary: a stage that misbehaves fails with a clear, recorded
//! reason and the engine carries on (the run ends normally with exit code 1).

use crate::support::report::Failure;
use crate::support::{TestRepo, Workflow, uses_fixture};

/// Runs one stage `bad` (the fixture plugin `fixture` with `more` keys), tried once: the run
/// fails, the engine does not. Returns the stage's failure.
#[track_caller]
fn failure_of_one(fixture: &str, more: &str) -> Failure {
    let repo = TestRepo::new();
    Workflow::named("sandbox")
        .stage(
            "bad",
            &format!(
                "{}\n{more}\nretry: {{ max_attempts: 1 }}",
                uses_fixture(fixture)
            ),
        )
        .write(&repo);
    let r = repo.run(&["run", "workflow.yaml"]);
    r.exits(1);
    let report = r.report();
    let bad = report.stage("bad");
    assert_eq!(bad.history.len(), 1);
    bad.failure().clone()
}

#[test]
fn a_stage_that_loops_forever_times_out() {
    let failure = failure_of_one("fixture_loop", "timeout: 1s");
    assert_eq!(failure.kind, "timed_out");
    insta::assert_snapshot!("time_limit", failure.message);
}

#[test]
fn a_stage_that_allocates_too_much_hits_the_memory_limit() {
    let failure = failure_of_one("fixture_alloc", "memory: 32MiB");
    assert_eq!(failure.kind, "fatal");
    insta::assert_snapshot!("memory_limit", failure.message);
}

#[test]
fn a_trapping_stage_fails_with_the_trap_message() {
    let failure = failure_of_one("fixture_trap", "");
    insta::assert_snapshot!("trap", failure.message);
}

#[test]
fn reading_outside_the_workspace_is_denied() {
    let repo = TestRepo::new();
    repo.write("inside.txt", "inside\n").commit_all("inside");
    Workflow::named("escape")
        .stage(
            "peek",
            &format!(
                "{}\npermissions: {{ workspace: read }}",
                uses_fixture("fixture_read_outside")
            ),
        )
        .write(&repo);
    let r = repo.run(&["run", "workflow.yaml"]);
    r.succeeds();
    let report = r.report();
    let seen = &report.stage("peek").outputs;
    for outside in [
        "/etc/passwd",
        "/workspace/../../etc/passwd",
        "/workspace/..",
        "/",
    ] {
        let result = seen[outside].as_str().unwrap();
        assert!(result.starts_with("denied"), "{outside}: {result}");
    }
    // The control: the workspace itself is readable.
    assert_eq!(seen["/workspace/inside.txt"], "ok: 7 bytes");
}

#[test]
fn a_plugin_asking_for_more_than_the_workflow_grants_is_refused_before_running() {
    let repo = TestRepo::new();
    Workflow::named("greedy")
        .stage(
            "write",
            &format!(
                "{}\nwith: {{ path: x.txt }}\npermissions: {{ workspace: read }}",
                uses_fixture("fixture_write")
            ),
        )
        .write(&repo);
    let r = repo.run(&["run", "workflow.yaml"]);
    r.exits(2);
    // It says what the plugin asks for and what the workflow grants.
    insta::assert_snapshot!("plugin_asks_for_more", r.stderr_normalised());
    // Nothing was recorded: the run never started.
    assert!(repo.runs().is_empty());
}
