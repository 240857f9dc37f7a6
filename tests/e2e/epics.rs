//! `engine run --all --epic ID`: only the tasks of one epic run, in dependency order — a
//! tasks.md milestone (named by its number, its label or its heading), a GitHub milestone
//! through a stateful fake `gh`, a Beads epic through a stateful fake `bd`; a task waiting for
//! a task of another epic waits (reported, not run); an unknown epic is exit 2 naming the
//! known ones.

use std::path::{Path, PathBuf};

use crate::support::fake_trackers::{self, BdIssue, GhIssue};
use crate::support::{TestRepo, Workflow};

/// A workflow whose `work` stage appends the task's id to `done.txt` and whose `merge` stage
/// lands it on main (so `main:done.txt` is the order the tasks ran in). `source` is the
/// `tasks:` section.
fn workflow(source: &str) -> Workflow {
    Workflow::named("epics")
        .top(source)
        .stage(
            "work",
            "uses: builtin:gate\nwith: { commands: [\"sh -c 'echo \\\"{{ task.id }}\\\" >> done.txt'\"] }\n\
             permissions: { workspace: write, exec: [sh] }",
        )
        .stage(
            "merge",
            "uses: builtin:merge\nneeds: [work]\npermissions: { workspace: read, exec: [git] }\n\
             retry: { max_attempts: 1 }",
        )
}

const TASKS_MD: &str =
    "tasks: { source: tasks-md, path: spec/tasks.md, permissions: { workspace: write } }";

/// Two milestones; in the second, TASK-4 (urgent) waits for TASK-3 and TASK-5 for TASK-4;
/// `cross` makes TASK-3 wait for TASK-1 of the first milestone too.
fn two_milestones(cross: bool) -> String {
    let cross = if cross {
        "**Depends on:** [TASK-1]\n"
    } else {
        ""
    };
    format!(
        "# Tasks\n\n## Milestone 1: Foundations\n\n\
         ### TASK-1: Lay the foundation\nP1 | TODO\n\n\
         ### TASK-2: Pour the slab\nP1 | TODO\n\n\
         ## Milestone 2: Features\n\n\
         ### TASK-3: First feature\nP2 | TODO\n{cross}\n\
         ### TASK-4: Second feature\nP0 | TODO\n**Depends on:** [TASK-3]\n\n\
         ### TASK-5: Third feature\nP1 | TODO\n**Depends on:** [TASK-4]\n"
    )
}

fn tasks_repo(tasks: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.write("spec/tasks.md", tasks).commit_all("tasks");
    workflow(TASKS_MD).write(&repo);
    repo
}

/// What ran, in order, as merged into main.
fn done(repo: &TestRepo) -> String {
    repo.git(&["show", "main:done.txt"])
}

#[test]
fn only_one_milestones_tasks_run_in_dependency_order() {
    let repo = tasks_repo(&two_milestones(false));
    repo.engine()
        .args(["run", "workflow.yaml", "--all", "--epic", "2"])
        .run()
        .succeeds()
        .never_prints("TASK-1 starts")
        .never_prints("not run: TASK-1");
    assert_eq!(done(&repo), "TASK-3\nTASK-4\nTASK-5\n");
    let tasks = repo.read("spec/tasks.md");
    for id in ["TASK-1: Lay the foundation", "TASK-2: Pour the slab"] {
        assert!(tasks.contains(&format!("### {id}\nP1 | TODO\n")), "{tasks}");
    }
    // The first milestone by its label: the rest runs.
    repo.engine()
        .args(["run", "workflow.yaml", "--all", "--epic", "milestone 1"])
        .run()
        .succeeds();
    assert_eq!(done(&repo), "TASK-3\nTASK-4\nTASK-5\nTASK-1\nTASK-2\n");
}

#[test]
fn a_task_waiting_for_another_epic_waits_and_runs_once_that_epic_is_done() {
    let repo = tasks_repo(&two_milestones(true));
    // TASK-3 waits for TASK-1 (milestone 1, not done): nothing of milestone 2 can run.
    let dry = repo
        .engine()
        .args([
            "run",
            "workflow.yaml",
            "--dry-run",
            "--epic",
            "Milestone 2: Features",
        ])
        .run();
    dry.succeeds()
        .stdout_has("TASK-3")
        .stdout_has("not in epic");
    repo.engine()
        .args(["run", "workflow.yaml", "--all", "--epic", "2"])
        .run()
        .succeeds()
        .stderr_has("not run: TASK-3 (First feature): blocked by TASK-1 (todo)")
        .never_prints("not run: TASK-1");
    assert!(repo.git(&["ls-tree", "main", "done.txt"]).is_empty());
    repo.engine()
        .args(["run", "workflow.yaml", "--all", "--epic", "1"])
        .run()
        .succeeds();
    assert_eq!(done(&repo), "TASK-1\nTASK-2\n");
    repo.engine()
        .args(["run", "workflow.yaml", "--all", "--epic", "2"])
        .run()
        .succeeds();
    assert_eq!(done(&repo), "TASK-1\nTASK-2\nTASK-3\nTASK-4\nTASK-5\n");
}

#[test]
fn an_unknown_epic_is_refused_with_the_known_ones() {
    let repo = tasks_repo(&two_milestones(false));
    repo.engine()
        .args(["run", "workflow.yaml", "--all", "--epic", "9"])
        .run()
        .exits(2)
        .stderr_has(
            "--epic \"9\": no such epic in builtin:tasks-md (spec/tasks.md); its epics: \
             \"Milestone 1: Foundations\", \"Milestone 2: Features\"",
        );
    // `engine watch` checks it too, before it starts watching.
    repo.engine()
        .args(["watch", "workflow.yaml", "--epic", "Milestone 3"])
        .run()
        .exits(2)
        .stderr_has("--epic \"Milestone 3\": no such epic");
    repo.engine()
        .args(["run", "workflow.yaml", "--epic", "1"])
        .run()
        .exits(2)
        .stderr_has("--epic needs --all or --dry-run");
    assert!(repo.runs().is_empty());
}

#[test]
fn engine_tasks_lists_one_epic_with_its_outside_blockers() {
    let repo = tasks_repo(&two_milestones(true));
    let listed = repo
        .engine()
        .args(["tasks", "workflow.yaml", "--epic", "2", "--json"])
        .run();
    let doc = listed.succeeds().json();
    let rows: Vec<(String, bool, String)> = doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["ready"].as_bool().unwrap(),
                t["blocked_by"].to_string(),
            )
        })
        .collect();
    // In readiness order (none is ready: priority first).
    let ids: Vec<&str> = rows.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(ids, ["TASK-4", "TASK-5", "TASK-3"], "{doc}");
    // TASK-3 waits for TASK-1 of the first milestone: listed as blocked by it, not ready.
    assert!(!rows[2].1 && rows[2].2.contains("\"TASK-1\""), "{doc}");
    // The whole list still has all five.
    let all = repo
        .engine()
        .args(["tasks", "workflow.yaml", "--json"])
        .run();
    assert_eq!(all.succeeds().json()["tasks"].as_array().unwrap().len(), 5);
    // An unknown epic names the known ones; --epic with a subcommand is refused.
    repo.engine()
        .args(["tasks", "workflow.yaml", "--epic", "9"])
        .run()
        .exits(2)
        .stderr_has("its epics: \"Milestone 1: Foundations\", \"Milestone 2: Features\"");
    repo.engine()
        .args(["tasks", "workflow.yaml", "--epic", "2", "next"])
        .run()
        .exits(2)
        .stderr_has("--epic narrows the listing");
}

/// The fake `gh`: #1 in milestone v1, #2 and #3 (which depends on #2) in milestone v2, all
/// labelled `engine`.
fn stateful_gh(dir: &Path) -> PathBuf {
    fake_trackers::stateful_gh(
        dir,
        &[
            GhIssue {
                title: "Old work",
                body: "Nothing.",
                milestone: Some("v1"),
            },
            GhIssue {
                title: "Parse the config",
                body: "The loader.",
                milestone: Some("v2"),
            },
            GhIssue {
                title: "Use the config",
                body: "Depends on: #2",
                milestone: Some("v2"),
            },
        ],
    )
}

#[test]
fn a_github_milestone_runs_alone_through_gh() {
    let repo = TestRepo::new();
    let fake = tempfile::tempdir().unwrap();
    let bin = stateful_gh(fake.path());
    workflow("tasks: { source: github, labels: [engine], permissions: { exec: [gh] } }")
        .write(&repo);
    repo.engine()
        .path_first(&bin)
        .args(["run", "workflow.yaml", "--all", "--epic", "v3"])
        .run()
        .exits(2)
        .stderr_has("its epics: \"v1\", \"v2\"");
    repo.engine()
        .path_first(&bin)
        .args(["run", "workflow.yaml", "--all", "--epic", "v2"])
        .run()
        .succeeds();
    assert_eq!(done(&repo), "#2\n#3\n");
    let state = |n: &str| {
        std::fs::read_to_string(fake.path().join("state").join(format!("{n}.state"))).unwrap()
    };
    assert_eq!(state("1").trim(), "OPEN");
    assert_eq!(state("2").trim(), "CLOSED");
    assert_eq!(state("3").trim(), "CLOSED");
}

/// The fake `bd`: bd-1 (no epic), the epic bd-4 and its children bd-4.1 and bd-4.2 (which
/// bd-4.1 blocks).
fn stateful_bd(dir: &Path) -> PathBuf {
    let task = |id, title, priority, depends_on| BdIssue {
        id,
        title,
        priority,
        issue_type: Some("task"),
        depends_on,
    };
    fake_trackers::stateful_bd(
        dir,
        &[
            task("bd-1", "Unrelated chore", 0, &[]),
            BdIssue {
                issue_type: Some("epic"),
                ..task("bd-4", "Payments", 1, &[])
            },
            task("bd-4.1", "Charge cards", 1, &[("bd-4", "parent-child")]),
            task(
                "bd-4.2",
                "Refund cards",
                0,
                &[("bd-4", "parent-child"), ("bd-4.1", "blocks")],
            ),
        ],
    )
}

#[test]
fn a_beads_epic_runs_its_children_in_order_then_itself_through_bd() {
    let repo = TestRepo::new();
    let fake = tempfile::tempdir().unwrap();
    let bin = stateful_bd(fake.path());
    workflow("tasks: { source: beads, permissions: { workspace: read, exec: [bd] } }").write(&repo);
    repo.engine()
        .path_first(&bin)
        .args(["run", "workflow.yaml", "--all", "--epic", "bd-4"])
        .run()
        .succeeds()
        .never_prints("bd-1 starts");
    // bd-4.2 is urgent but blocked by bd-4.1; the epic waits for its children.
    assert_eq!(done(&repo), "bd-4.1\nbd-4.2\nbd-4\n");
    let status = |id: &str| {
        std::fs::read_to_string(fake.path().join("state").join(format!("{id}.status"))).unwrap()
    };
    assert_eq!(status("bd-1").trim(), "open");
    for id in ["bd-4", "bd-4.1", "bd-4.2"] {
        assert_eq!(status(id).trim(), "closed", "{id}");
    }
}
