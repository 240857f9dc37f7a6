//! The sandbox through the real binary: a stage that misbehaves fails with a clear, recorded
//! reason and the engine carries on (the run ends normally with exit code 1).

mod support;

use support::{TestRepo, fixture_uses, outcomes};

fn run_one(stage_yaml: &str) -> (TestRepo, serde_json::Value, String) {
    let repo = TestRepo::new();
    let wf = repo.workflow(&format!(
        "name: sandbox\nstages:\n  bad:\n    {stage_yaml}\n    retry: {{ max_attempts: 1 }}\n"
    ));
    let r = repo.run(&["run", wf.to_str().unwrap()]);
    assert_eq!(
        r.code(),
        1,
        "the run fails, the engine does not: {}",
        r.stderr()
    );
    let show = repo.show(&r.run_id());
    assert_eq!(outcomes(&show)["bad"].len(), 1);
    let message = show["state"]["stages"]["bad"]["last_failure"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    (repo, show, message)
}

#[test]
fn a_stage_that_loops_forever_times_out() {
    let (_repo, show, message) = run_one(&format!(
        "{}\n    timeout: 1s",
        fixture_uses("fixture_loop")
    ));
    assert_eq!(
        show["state"]["stages"]["bad"]["last_failure"]["kind"],
        "timed_out"
    );
    assert!(message.contains("time limit of 1s"), "{message}");
}

#[test]
fn a_stage_that_allocates_too_much_hits_the_memory_limit() {
    let (_repo, show, message) = run_one(&format!(
        "{}\n    memory: 32MiB",
        fixture_uses("fixture_alloc")
    ));
    assert_eq!(
        show["state"]["stages"]["bad"]["last_failure"]["kind"],
        "fatal"
    );
    assert!(message.contains("memory limit of 32 MiB"), "{message}");
}

#[test]
fn a_trapping_stage_fails_with_the_trap_message() {
    let (_repo, _show, message) = run_one(&fixture_uses("fixture_trap"));
    assert!(message.contains("stage trapped"), "{message}");
}

#[test]
fn reading_outside_the_workspace_is_denied() {
    let repo = TestRepo::new();
    repo.write("inside.txt", "inside\n");
    repo.git(&["add", "inside.txt"]);
    repo.git(&["commit", "-q", "-m", "inside"]);
    let wf = repo.workflow(&format!(
        "name: escape\nstages:\n  peek:\n    {}\n    permissions: {{ workspace: read }}\n",
        fixture_uses("fixture_read_outside")
    ));
    let r = repo.run(&["run", wf.to_str().unwrap()]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let show = repo.show(&r.run_id());
    let seen = &show["state"]["stages"]["peek"]["outputs"];
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
    let wf = repo.workflow(&format!(
        "name: greedy\nstages:\n  write:\n    {}\n    with: {{ path: x.txt }}\n    permissions: {{ workspace: read }}\n",
        fixture_uses("fixture_write")
    ));
    let r = repo.run(&["run", wf.to_str().unwrap()]);
    assert_eq!(r.code(), 2, "{}", r.stderr());
    assert!(
        r.stderr().contains("workspace: write (granted: read)"),
        "{}",
        r.stderr()
    );
    // Nothing was recorded: the run never started.
    assert_eq!(repo.run(&["runs", "--json"]).stdout().trim(), "[]");
}
