//! The run modes through the real binary on temporary git repositories with a spec-runner
//! tasks.md: the next ready task with its claim and write-back, `--task ID`, `--dry-run`,
//! `--all --parallel 3` over ten tasks with a dependency chain merging into main, the daily
//! budget stopping new runs, SIGTERM in the middle of `--all` followed by a rerun that loses
//! nothing, and `engine watch` picking up a task added while it runs.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::support::agent::ScriptedAgent;
use crate::support::{RunReport, TestRepo, Workflow, uses_fixture};

/// Ten tasks: a chain TASK-1 → TASK-2 → TASK-3 → TASK-4, TASK-7 after TASK-4 and TASK-6,
/// TASK-9 urgent (P0), the rest independent.
fn ten_tasks() -> String {
    let mut text = String::from("# Tasks\n\n## Milestone 1: All of them\n\n");
    for i in 1..=10 {
        let priority = if i == 9 { "P0" } else { "P1" };
        let _ = write!(text, "### TASK-{i}: Task number {i}\n{priority} | TODO\n");
        match i {
            2..=4 => {
                let _ = writeln!(text, "**Depends on:** [TASK-{}]", i - 1);
            }
            7 => text.push_str("**Depends on:** [TASK-4], [TASK-6]\n"),
            _ => {}
        }
        text.push('\n');
    }
    text
}

/// The dependencies of [`ten_tasks`].
fn dependencies() -> Vec<(&'static str, &'static str)> {
    vec![
        ("TASK-2", "TASK-1"),
        ("TASK-3", "TASK-2"),
        ("TASK-4", "TASK-3"),
        ("TASK-7", "TASK-4"),
        ("TASK-7", "TASK-6"),
    ]
}

/// A repository whose committed `spec/tasks.md` holds `tasks`, checked out on main: the
/// write-backs leave tasks.md changed in the checkout while the runs merge into main (the merge
/// carries those changes along since it does not touch tasks.md).
fn repo_with(tasks: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.write("spec/tasks.md", tasks).commit_all("tasks");
    repo
}

/// A workflow taking its tasks from spec/tasks.md (statuses written back), whose `work` stage
/// runs `command` (a gate; templated) and whose `merge` stage lands it on main.
fn queue(command: &str) -> Workflow {
    Workflow::named("queue")
        .top("tasks: { source: tasks-md, path: spec/tasks.md, permissions: { workspace: write } }")
        .stage(
            "work",
            &format!(
                "uses: builtin:gate\nwith: {{ commands: [\"{command}\"] }}\n\
                 permissions: {{ workspace: write, exec: [sh] }}\n\
                 # One test reads the user's tasks.md from the checkout, hidden from stages by default.\n\
                 sandbox: {{ repository: read }}"
            ),
        )
        .stage(
            "merge",
            "uses: builtin:merge\nneeds: [work]\npermissions: { workspace: read, exec: [git] }\n\
             retry: { max_attempts: 1 }",
        )
}

/// Writes `<task id>.txt` (each task its own file, so merges never conflict).
const WRITE_FILE: &str = "sh -c 'echo {{ task.id }} > {{ task.id }}.txt'";

/// Every run by task id (oldest first), from `engine show`.
#[track_caller]
fn runs_by_task(repo: &TestRepo) -> BTreeMap<String, Vec<RunReport>> {
    let mut map: BTreeMap<String, Vec<RunReport>> = BTreeMap::new();
    for id in repo.run_ids().iter().rev() {
        let report = repo.report(id);
        map.entry(report.state.task.id.clone())
            .or_default()
            .push(report);
    }
    map
}

/// The lines of `after` that differ from `before` (same number of lines).
fn changed_lines(before: &str, after: &str) -> Vec<(String, String)> {
    assert_eq!(before.lines().count(), after.lines().count(), "{after}");
    before
        .lines()
        .zip(after.lines())
        .filter(|(b, a)| b != a)
        .map(|(b, a)| (b.to_string(), a.to_string()))
        .collect()
}

/// Each task ran once, merged once, and its status line alone says DONE.
#[track_caller]
fn assert_all_done_once(repo: &TestRepo, before: &str, ids: &[&str]) {
    let by_task = runs_by_task(repo);
    for id in ids {
        let list = &by_task[*id];
        assert_eq!(list.len(), 1, "{id} ran {} times", list.len());
        let report = &list[0];
        assert_eq!(report.status(), "succeeded", "{:#}", report.raw);
        assert_eq!(repo.merges_of(&report.meta.run_id), 1);
        assert_eq!(repo.git(&["show", &format!("main:{id}.txt")]).trim(), *id);
    }
    let changed = changed_lines(before, &repo.read("spec/tasks.md"));
    assert_eq!(changed.len(), ids.len(), "{changed:?}");
    for (old, new) in changed {
        assert_eq!(new, old.replace("TODO", "DONE"));
    }
}

#[test]
fn a_plain_run_takes_the_next_ready_task_claims_it_and_writes_its_end_back() {
    let repo = repo_with(&ten_tasks());
    let before = repo.read("spec/tasks.md");
    // The work stage copies the user's tasks.md (three levels up from the run's worktree)
    // while it runs: the claim is visible there.
    queue("sh -c 'cp ../../../spec/tasks.md claimed.md; echo {{ task.id }} > {{ task.id }}.txt'")
        .write(&repo);
    let r = repo.run(&["run", "workflow.yaml"]);
    r.succeeds();
    // The urgent (P0) task comes first, and is done in the source at the end.
    insta::assert_snapshot!("next_ready_task", r.stderr_normalised());
    let claimed = repo.git(&["show", "main:claimed.md"]);
    assert!(
        claimed.contains("### TASK-9: Task number 9\nP0 | IN_PROGRESS\n"),
        "{claimed}"
    );
    assert_all_done_once(&repo, &before, &["TASK-9"]);

    // --task ID picks that task; a ready one runs, others are refused with the reason.
    repo.run(&["run", "workflow.yaml", "--task", "TASK-5"])
        .succeeds();
    let r = repo.run(&["run", "workflow.yaml", "--task", "TASK-3"]);
    r.exits(2);
    insta::assert_snapshot!("task_not_ready", r.stderr_normalised());
    let r = repo.run(&["run", "workflow.yaml", "--task", "TASK-99"]);
    r.exits(2);
    insta::assert_snapshot!("no_such_task", r.stderr_normalised());
    assert_all_done_once(&repo, &before, &["TASK-9", "TASK-5"]);

    // A failing run puts its task back to TODO (with a note the file does not keep).
    queue("sh -c 'exit 3'").write(&repo);
    let r = repo.run(&["run", "workflow.yaml", "--task", "TASK-1"]);
    r.exits(1);
    // The task is put back to todo in the source.
    insta::assert_snapshot!("failed_task_back_to_todo", r.stderr_normalised());
    assert!(
        repo.read("spec/tasks.md")
            .contains("### TASK-1: Task number 1\nP1 | TODO\n")
    );
}

#[test]
fn dry_run_says_what_would_run_in_which_order_and_why_not() {
    let repo = repo_with(&ten_tasks());
    queue(WRITE_FILE).write(&repo);
    let r = repo.run(&[
        "run",
        "workflow.yaml",
        "--all",
        "--parallel",
        "3",
        "--dry-run",
    ]);
    r.succeeds();
    insta::assert_snapshot!("dry_run_all_parallel", r.stdout_normalised());
    let r = repo.run(&["run", "workflow.yaml", "--dry-run"]);
    r.succeeds();
    insta::assert_snapshot!("dry_run_next", r.stdout_normalised());

    let r = repo.run(&["run", "workflow.yaml", "--all", "--dry-run", "--json"]);
    r.succeeds();
    let doc = r.json();
    let order: Vec<&str> = doc["would_run"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(order[0], "TASK-9");
    assert_eq!(order.len(), 10);
    for (task, dep) in dependencies() {
        let at = |id: &str| order.iter().position(|o| *o == id).unwrap();
        assert!(
            at(dep) < at(task),
            "{dep} must come before {task}: {order:?}"
        );
    }
    // Nothing ran and nothing changed.
    repo.assert_file("spec/tasks.md", &ten_tasks());
    assert!(repo.runs().is_empty());
}

#[test]
fn all_with_three_at_a_time_merges_each_task_once_in_dependency_order() {
    let repo = repo_with(&ten_tasks());
    let before = repo.read("spec/tasks.md");
    queue(WRITE_FILE).write(&repo);
    let r = repo.run(&["run", "workflow.yaml", "--all", "--parallel", "3"]);
    // Three runs at a time: their lines interleave in any order, so the session's summary is
    // checked by its parts.
    r.succeeds()
        .stderr_has("session: 10 runs in")
        .stderr_has("10 succeeded");
    let ids: Vec<String> = (1..=10).map(|i| format!("TASK-{i}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_all_done_once(&repo, &before, &ids);
    // A dependent started from a main that already had its dependency merged.
    let by_task = runs_by_task(&repo);
    for (task, dep) in dependencies() {
        let merged = by_task[dep][0].stage("merge").outputs["merged_sha"]
            .as_str()
            .unwrap()
            .to_string();
        let base = by_task[task][0].meta.base_commit.clone();
        let ancestor = std::process::Command::new("git")
            .args(["merge-base", "--is-ancestor", &merged, &base])
            .current_dir(repo.path())
            .status()
            .unwrap();
        assert!(ancestor.success(), "{task} started before {dep} was merged");
    }
    // Progress of runs going on at the same time is told apart by task.
    r.stderr_has("[TASK-7] ▶ merge (attempt 1)");
    // Nothing left to do: a plain run says so with its own exit code.
    let r = repo.run(&["run", "workflow.yaml"]);
    r.exits(8);
    insta::assert_snapshot!("nothing_to_do", r.stderr_normalised());
    let r = repo.run(&["run", "workflow.yaml", "--all"]);
    r.succeeds();
    insta::assert_snapshot!("nothing_to_do_all", r.stderr_normalised());
}

#[test]
fn the_daily_budget_stops_new_runs_under_all() {
    let repo = repo_with(
        "### TASK-1: One\nP1 | TODO\n\n### TASK-2: Two\nP1 | TODO\n\n### TASK-3: Three\nP1 | TODO\n",
    );
    let agent = ScriptedAgent::new(
        "- - say: working\n  - tokens: {input: 1000, output: 200}\n  - cost: 0.2\n  - result: {text: done}\n",
    );
    Workflow::named("paid")
        .top("budget: { day_usd: 0.3 }")
        .top("tasks: { source: tasks-md, path: spec/tasks.md, permissions: { workspace: write } }")
        .agents(&agent, "limits: { post_result_grace: 1s }")
        .stage(
            "work",
            &format!(
                "{}\nwith: {{ backend: claude }}\npermissions: {{ workspace: write, agent: true }}\n\
                 retry: {{ max_attempts: 1 }}",
                uses_fixture("fixture_agent")
            ),
        )
        .write(&repo);
    let r = repo.run(&["run", "workflow.yaml", "--all"]);
    // $0.20 of $0.30 after the first run, $0.40 after the second: no third run.
    r.exits(7);
    insta::assert_snapshot!("day_budget_stops_all", r.stderr_normalised());
    assert_eq!(agent.invocations().len(), 2);
    assert_eq!(repo.runs().len(), 2);
    let tasks = repo.read("spec/tasks.md");
    assert!(tasks.contains("TASK-1: One\nP1 | DONE"), "{tasks}");
    assert!(tasks.contains("TASK-2: Two\nP1 | DONE"), "{tasks}");
    assert!(tasks.contains("TASK-3: Three\nP1 | TODO"), "{tasks}");
}

#[test]
fn sigterm_in_the_middle_of_all_loses_nothing_and_a_rerun_resumes() {
    let repo = repo_with(&ten_tasks());
    let before = repo.read("spec/tasks.md");
    let hold = tempfile::tempdir().unwrap();
    std::fs::write(hold.path().join("TASK-2"), "").unwrap();
    // TASK-2's work waits while its hold file exists.
    let command = format!(
        "sh -c 'while test -e {}/{{{{ task.id }}}}; do sleep 0.05; done; echo {{{{ task.id }}}} > {{{{ task.id }}}}.txt'",
        hold.path().display()
    );
    queue(&command).write(&repo);
    let mut engine = repo
        .engine()
        .args(["run", "workflow.yaml", "--all"])
        .spawn();
    engine.wait_for_stderr("[TASK-2]   work · running");
    // Meanwhile, a dry run reads the busy state directory and says where TASK-2 is.
    let dry = repo.run(&["run", "workflow.yaml", "--all", "--dry-run"]);
    dry.succeeds();
    insta::assert_snapshot!("dry_run_while_a_task_runs", dry.stdout_normalised());

    engine.terminate();
    let (code, _) = engine.wait();
    assert_eq!(code, 4, "{}", engine.seen_stderr());
    // It says it was stopped by a signal.
    insta::assert_snapshot!(
        "all_stopped_by_sigterm",
        repo.normalise(engine.seen_stderr())
    );
    // TASK-1 is done, TASK-2's run is stored as running and its task still claimed.
    let tasks = repo.read("spec/tasks.md");
    assert!(
        tasks.contains("### TASK-2: Task number 2\nP1 | IN_PROGRESS"),
        "{tasks}"
    );
    let by_task = runs_by_task(&repo);
    let held = by_task["TASK-2"][0].meta.run_id.clone();
    assert_eq!(by_task["TASK-2"][0].status(), "running");

    std::fs::remove_file(hold.path().join("TASK-2")).unwrap();
    let r = repo.run(&["run", "workflow.yaml", "--all"]);
    r.succeeds().stderr_has(&format!("(run {held}, resumed)"));
    let ids: Vec<String> = (1..=10).map(|i| format!("TASK-{i}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_all_done_once(&repo, &before, &ids);
}

#[test]
fn watch_picks_up_a_task_added_while_it_runs() {
    let first = "# Tasks\n\n### TASK-1: First\nP1 | TODO\n";
    let repo = repo_with(first);
    queue(WRITE_FILE).write(&repo);
    let mut engine = repo
        .engine()
        .args(["watch", "workflow.yaml", "--interval", "100ms"])
        .spawn();
    engine.wait_for_stderr("✓ TASK-1 succeeded");
    let mut text = repo.read("spec/tasks.md");
    text.push_str("\n### TASK-2: Added later\nP2 | TODO\n");
    repo.write("spec/tasks.md", &text);
    engine.wait_for_stderr("✓ TASK-2 succeeded");
    engine.terminate();
    let (code, rest) = engine.wait();
    // Idle when stopped: a clean end, with the session's summary (after a number of polls
    // that depends on timing, so checked by its line).
    assert_eq!(code, 0, "{}", engine.seen_stderr());
    assert!(rest.contains("session: 2 runs"), "{rest}");
    let tasks = repo.read("spec/tasks.md");
    assert!(tasks.contains("### TASK-1: First\nP1 | DONE"), "{tasks}");
    assert!(
        tasks.contains("### TASK-2: Added later\nP2 | DONE"),
        "{tasks}"
    );
    for id in ["TASK-1", "TASK-2"] {
        assert_eq!(repo.git(&["show", &format!("main:{id}.txt")]).trim(), id);
    }
}

#[test]
fn no_new_run_starts_after_until_or_outside_working_hours() {
    let repo = repo_with(&ten_tasks());
    let wf = queue(WRITE_FILE).write(&repo);
    for (args, name) in [
        (
            &[
                "run",
                "workflow.yaml",
                "--all",
                "--until",
                "2000-01-01T00:00:00Z",
            ][..],
            "until_passed_all",
        ),
        (
            &["run", "workflow.yaml", "--until", "2000-01-01T00:00:00Z"],
            "until_passed",
        ),
    ] {
        let r = repo.run(args);
        assert_eq!(r.code(), 7, "{args:?}: {}", r.context());
        insta::assert_snapshot!(name, r.stderr_normalised());
    }
    // A window that opens two hours from now (UTC) is closed now.
    let now_min = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 60)
        % 1440;
    let clock = |m: u64| format!("{:02}:{:02}", (m % 1440) / 60, m % 60);
    let text = std::fs::read_to_string(&wf).unwrap().replacen(
        "name: queue\n",
        &format!(
            "name: queue\nlimits: {{ work_hours: \"{}-{}\" }}\n",
            clock(now_min + 120),
            clock(now_min + 180)
        ),
        1,
    );
    std::fs::write(&wf, text).unwrap();
    // The messages name the window, which depends on the time of day: checked by their lines.
    for args in [
        &["run", "workflow.yaml", "--all"][..],
        &["run", "workflow.yaml"],
    ] {
        let r = repo.engine().args(args).env("TZ", "UTC").run();
        assert_eq!(r.code(), 7, "{args:?}: {}", r.context());
        r.stderr_has("outside the workflow's limits (work_hours");
    }
    repo.engine()
        .args(["run", "workflow.yaml", "--all", "--dry-run"])
        .env("TZ", "UTC")
        .run()
        .succeeds()
        .stdout_has("note: no run would start now: outside the workflow's limits");
    assert!(repo.runs().is_empty());
    repo.assert_file("spec/tasks.md", &ten_tasks());
}
