//! End-to-end: a task of the task source whose last run failed goes on from the stage that
//! failed when it is picked again (`engine run --all`, a plain `engine run`), keeping what
//! succeeded before it; `--fresh`, or a workflow changed since, starts it over in a new run.

use crate::support::{Handshake, TestRepo, Workflow};

/// `a` counts its runs in the handshake directory; `b` fails until the go is given.
fn counting_then_failing(hold: &Handshake, comment: &str) -> Workflow {
    let dir = hold.dir().display();
    Workflow::named("steady")
        .top(&format!(
            "tasks: {{ source: tasks-md, path: spec/tasks.md, permissions: {{ workspace: write }} }}\n{comment}"
        ))
        .stage(
            "a",
            &format!(
                "uses: builtin:gate\nwith: {{ commands: [\"sh -c 'echo a >> {dir}/a.count'\"] }}\n\
                 permissions: {{ workspace: read, exec: [sh] }}\n{}",
                hold.grant()
            ),
        )
        .stage(
            "b",
            &format!(
                "uses: builtin:gate\nneeds: [a]\nwith: {{ commands: [\"sh -c 'test -e {dir}/go'\"] }}\n\
                 permissions: {{ workspace: read, exec: [sh] }}\nretry: {{ max_attempts: 1 }}\n{}",
                hold.grant()
            ),
        )
}

/// A repository with one task, whose first run (through `--all`) fails at `b`; returns it and
/// the run id.
fn failed_once(hold: &Handshake) -> (TestRepo, String) {
    let repo = TestRepo::new();
    repo.write(
        "spec/tasks.md",
        "# Tasks\n\n### TASK-1: Steady\nP1 | TODO\n",
    )
    .commit_all("tasks");
    counting_then_failing(hold, "").write(&repo);
    repo.run(&["run", "workflow.yaml", "--all"]).exits(1);
    let runs = repo.run_ids();
    assert_eq!(runs.len(), 1);
    let report = repo.report(&runs[0]);
    assert_eq!(report.outcomes()["b"], ["failed"]);
    (repo, runs[0].clone())
}

/// How many times `a` ran.
fn a_runs(hold: &Handshake) -> usize {
    std::fs::read_to_string(hold.dir().join("a.count"))
        .unwrap_or_default()
        .lines()
        .count()
}

#[test]
fn a_failed_task_goes_on_from_its_failed_stage_when_picked_again() {
    let hold = Handshake::new();
    let (repo, run_id) = failed_once(&hold);
    hold.release();
    let again = repo.run(&["run", "workflow.yaml", "--all"]);
    again.succeeds();
    again.stderr_has(&format!("retrying run {run_id} from b: b runs again"));
    // The same run went on: `a` kept its result and did not run again.
    assert_eq!(repo.run_ids(), std::slice::from_ref(&run_id));
    assert_eq!(a_runs(&hold), 1);
    let report = repo.report(&run_id);
    assert_eq!(report.status(), "succeeded");
    assert_eq!(report.outcomes()["a"], ["succeeded"]);
    assert_eq!(report.outcomes()["b"], ["failed", "succeeded"]);
    // Its end was written back anew.
    assert!(
        repo.read("spec/tasks.md").contains("P1 | DONE"),
        "{}",
        repo.read("spec/tasks.md")
    );
}

#[test]
fn fresh_or_a_changed_workflow_starts_a_failed_task_over() {
    let hold = Handshake::new();
    let (repo, first) = failed_once(&hold);

    // --fresh: a new run, from the first stage.
    repo.run(&["run", "workflow.yaml", "--fresh"]).exits(1);
    let runs = repo.run_ids();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(a_runs(&hold), 2);

    // The workflow changed since the last failure: a new run too, and it says why.
    counting_then_failing(&hold, "# b's check was fixed").write(&repo);
    hold.release();
    let changed = repo.run(&["run", "workflow.yaml"]);
    changed.succeeds();
    changed.stderr_has(
        "failed, and the workflow changed since: a new run starts from the first stage",
    );
    assert_eq!(repo.run_ids().len(), 3);
    assert_eq!(a_runs(&hold), 3);
    assert_eq!(repo.report(&first).status(), "failed");
}
