//! The run modes through the real binary on temporary git repositories with a spec-runner
//! tasks.md: the next ready task with its claim and write-back, `--task ID`, `--dry-run`,
//! `--all --parallel 3` over ten tasks with a dependency chain merging into main, the daily
//! budget stopping new runs, SIGTERM in the middle of `--all` followed by a rerun that loses
//! nothing, and `engine watch` picking up a task added while it runs.

mod support;

use std::collections::BTreeMap;
use std::io::{BufReader, Read};

use support::agent::ScriptedAgent;
use support::{TestRepo, fixture_uses, wait_for_line};

/// Ten tasks: a chain TASK-1 → TASK-2 → TASK-3 → TASK-4, TASK-7 after TASK-4 and TASK-6,
/// TASK-9 urgent (P0), the rest independent.
fn ten_tasks() -> String {
    let mut text = String::from("# Tasks\n\n## Milestone 1: All of them\n\n");
    for i in 1..=10 {
        let priority = if i == 9 { "P0" } else { "P1" };
        text.push_str(&format!(
            "### TASK-{i}: Task number {i}\n{priority} | TODO\n"
        ));
        match i {
            2..=4 => text.push_str(&format!("**Depends on:** [TASK-{}]\n", i - 1)),
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
    repo.write("spec/tasks.md", tasks);
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "tasks"]);
    repo
}

/// A workflow whose `work` stage runs `command` (a gate; templated) and whose `merge` stage
/// lands it on main; statuses are written back.
fn workflow(repo: &TestRepo, command: &str) -> String {
    let path = repo.workflow(&format!(
        r#"name: queue
tasks: {{ source: tasks-md, path: spec/tasks.md, permissions: {{ workspace: write }} }}
stages:
  work:
    uses: builtin:gate
    with: {{ commands: ["{command}"] }}
    permissions: {{ workspace: write, exec: [sh] }}
    # One test reads the user's tasks.md from the checkout, hidden from stages by default.
    sandbox: {{ repository: read }}
  merge:
    uses: builtin:merge
    needs: [work]
    permissions: {{ workspace: read, exec: [git] }}
    retry: {{ max_attempts: 1 }}
"#
    ));
    path.to_str().unwrap().to_string()
}

/// Writes `<task id>.txt` (each task its own file, so merges never conflict).
const WRITE_FILE: &str = "sh -c 'echo {{ task.id }} > {{ task.id }}.txt'";

/// `engine runs --json`, parsed.
fn runs(repo: &TestRepo) -> Vec<serde_json::Value> {
    let r = repo.run(&["runs", "--json"]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    serde_json::from_str::<serde_json::Value>(&r.stdout())
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Every run by task id (oldest first), from `engine show`.
fn runs_by_task(repo: &TestRepo) -> BTreeMap<String, Vec<serde_json::Value>> {
    let mut map: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for run in runs(repo).iter().rev() {
        let show = repo.show(run["run_id"].as_str().unwrap());
        let task = show["state"]["task"]["id"].as_str().unwrap().to_string();
        map.entry(task).or_default().push(show);
    }
    map
}

/// Commits on main carrying the run's trailer.
fn merges_of(repo: &TestRepo, run_id: &str) -> usize {
    let grep = format!("--grep=Engine-Run: {run_id}");
    repo.git(&["log", "main", "--format=%H", &grep])
        .lines()
        .count()
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
fn assert_all_done_once(repo: &TestRepo, before: &str, ids: &[&str]) {
    let by_task = runs_by_task(repo);
    for id in ids {
        let list = &by_task[*id];
        assert_eq!(list.len(), 1, "{id} ran {} times", list.len());
        let show = &list[0];
        assert_eq!(show["state"]["status"]["status"], "succeeded", "{show}");
        assert_eq!(merges_of(repo, show["meta"]["run_id"].as_str().unwrap()), 1);
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
    let wf = workflow(
        &repo,
        "sh -c 'cp ../../../spec/tasks.md claimed.md; echo {{ task.id }} > {{ task.id }}.txt'",
    );
    let r = repo.run(&["run", &wf]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    // The urgent (P0) task comes first.
    assert!(
        r.stderr().contains("task TASK-9: Task number 9"),
        "{}",
        r.stderr()
    );
    assert!(r.stderr().contains("TASK-9 is now done in the source"));
    let claimed = repo.git(&["show", "main:claimed.md"]);
    assert!(
        claimed.contains("### TASK-9: Task number 9\nP0 | IN_PROGRESS\n"),
        "{claimed}"
    );
    assert_all_done_once(&repo, &before, &["TASK-9"]);

    // --task ID picks that task; a ready one runs, others are refused with the reason.
    let r = repo.run(&["run", &wf, "--task", "TASK-5"]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let r = repo.run(&["run", &wf, "--task", "TASK-3"]);
    assert_eq!(r.code(), 2);
    assert!(
        r.stderr()
            .contains("TASK-3 is not ready: blocked by TASK-2 (todo)"),
        "{}",
        r.stderr()
    );
    let r = repo.run(&["run", &wf, "--task", "TASK-99"]);
    assert_eq!(r.code(), 2);
    assert!(
        r.stderr().contains("no task TASK-99 in builtin:tasks-md"),
        "{}",
        r.stderr()
    );
    assert_all_done_once(&repo, &before, &["TASK-9", "TASK-5"]);

    // A failing run puts its task back to TODO (with a note the file does not keep).
    let failing = workflow(&repo, "sh -c 'exit 3'");
    let r = repo.run(&["run", &failing, "--task", "TASK-1"]);
    assert_eq!(r.code(), 1, "{}", r.stderr());
    assert!(
        r.stderr().contains("TASK-1 is now todo in the source"),
        "{}",
        r.stderr()
    );
    assert!(
        repo.read("spec/tasks.md")
            .contains("### TASK-1: Task number 1\nP1 | TODO\n")
    );
}

#[test]
fn dry_run_says_what_would_run_in_which_order_and_why_not() {
    let repo = repo_with(&ten_tasks());
    let wf = workflow(&repo, WRITE_FILE);
    let r = repo.run(&["run", &wf, "--all", "--parallel", "3", "--dry-run"]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    insta::assert_snapshot!("dry_run_all_parallel", r.stdout());
    let r = repo.run(&["run", &wf, "--dry-run"]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    insta::assert_snapshot!("dry_run_next", r.stdout());

    let r = repo.run(&["run", &wf, "--all", "--dry-run", "--json"]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let doc: serde_json::Value = serde_json::from_str(&r.stdout()).unwrap();
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
    assert_eq!(repo.read("spec/tasks.md"), ten_tasks());
    assert!(runs(&repo).is_empty());
}

#[test]
fn all_with_three_at_a_time_merges_each_task_once_in_dependency_order() {
    let repo = repo_with(&ten_tasks());
    let before = repo.read("spec/tasks.md");
    let wf = workflow(&repo, WRITE_FILE);
    let r = repo.run(&["run", &wf, "--all", "--parallel", "3"]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(r.stderr().contains("session: 10 runs in"), "{}", r.stderr());
    assert!(r.stderr().contains("10 succeeded"), "{}", r.stderr());
    let ids: Vec<String> = (1..=10).map(|i| format!("TASK-{i}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_all_done_once(&repo, &before, &ids);
    // A dependent started from a main that already had its dependency merged.
    let by_task = runs_by_task(&repo);
    for (task, dep) in dependencies() {
        let merged = by_task[dep][0]["state"]["stages"]["merge"]["outputs"]["merged_sha"]
            .as_str()
            .unwrap()
            .to_string();
        let base = by_task[task][0]["meta"]["base_commit"]
            .as_str()
            .unwrap()
            .to_string();
        let ancestor = std::process::Command::new("git")
            .args(["merge-base", "--is-ancestor", &merged, &base])
            .current_dir(repo.path())
            .status()
            .unwrap();
        assert!(ancestor.success(), "{task} started before {dep} was merged");
    }
    // Progress of runs going on at the same time is told apart by task.
    assert!(
        r.stderr().contains("[TASK-7] ▶ merge (attempt 1)"),
        "{}",
        r.stderr()
    );
    // Nothing left to do: a plain run says so with its own exit code.
    let r = repo.run(&["run", &wf]);
    assert_eq!(r.code(), 8, "{}", r.stderr());
    let r = repo.run(&["run", &wf, "--all"]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(r.stderr().contains("session: 0 runs"), "{}", r.stderr());
}

#[test]
fn the_daily_budget_stops_new_runs_under_all() {
    let repo = repo_with(
        "### TASK-1: One\nP1 | TODO\n\n### TASK-2: Two\nP1 | TODO\n\n### TASK-3: Three\nP1 | TODO\n",
    );
    let agent = ScriptedAgent::new(
        "- - say: working\n  - tokens: {input: 1000, output: 200}\n  - cost: 0.2\n  - result: {text: done}\n",
    );
    let wf = repo.workflow(&format!(
        "name: paid\nbudget: {{ day_usd: 0.3 }}\ntasks: {{ source: tasks-md, path: spec/tasks.md, permissions: {{ workspace: write }} }}\nagents:\n{}  limits: {{ post_result_grace: 1s }}\nstages:\n  work:\n    {}\n    with: {{ backend: claude }}\n    permissions: {{ workspace: write, agent: true }}\n    retry: {{ max_attempts: 1 }}\n",
        agent.backends_yaml(),
        fixture_uses("fixture_agent")
    ));
    let r = repo.run(&["run", wf.to_str().unwrap(), "--all"]);
    // $0.20 of $0.30 after the first run, $0.40 after the second: no third run.
    assert_eq!(r.code(), 7, "{}", r.stderr());
    assert!(
        r.stderr().contains("budget.day_usd is spent"),
        "{}",
        r.stderr()
    );
    assert_eq!(agent.invocations().len(), 2);
    assert_eq!(runs(&repo).len(), 2);
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
    let wf = workflow(&repo, &command);
    let mut child = repo.spawn(&["run", &wf, "--all"], &[]);
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    assert!(
        wait_for_line(&mut stderr, "[TASK-2]   work · running", &mut seen),
        "{seen}"
    );
    // Meanwhile, a dry run reads the busy state directory and says where TASK-2 is.
    let dry = repo.run(&["run", &wf, "--all", "--dry-run"]);
    assert_eq!(dry.code(), 0, "{}", dry.stderr());
    assert!(
        dry.stdout().contains("TASK-2  in progress elsewhere"),
        "{}",
        dry.stdout()
    );

    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(4), "{seen}{rest}");
    assert!(rest.contains("stopped by a signal"), "{rest}");
    // TASK-1 is done, TASK-2's run is stored as running and its task still claimed.
    let tasks = repo.read("spec/tasks.md");
    assert!(
        tasks.contains("### TASK-2: Task number 2\nP1 | IN_PROGRESS"),
        "{tasks}"
    );
    let by_task = runs_by_task(&repo);
    let held = by_task["TASK-2"][0]["meta"]["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(by_task["TASK-2"][0]["state"]["status"]["status"], "running");

    std::fs::remove_file(hold.path().join("TASK-2")).unwrap();
    let r = repo.run(&["run", &wf, "--all"]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(
        r.stderr().contains(&format!("(run {held}, resumed)")),
        "{}",
        r.stderr()
    );
    let ids: Vec<String> = (1..=10).map(|i| format!("TASK-{i}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_all_done_once(&repo, &before, &ids);
}

#[test]
fn watch_picks_up_a_task_added_while_it_runs() {
    let first = "# Tasks\n\n### TASK-1: First\nP1 | TODO\n";
    let repo = repo_with(first);
    let wf = workflow(&repo, WRITE_FILE);
    let mut child = repo.spawn(&["watch", &wf, "--interval", "100ms"], &[]);
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    assert!(
        wait_for_line(&mut stderr, "✓ TASK-1 succeeded", &mut seen),
        "{seen}"
    );
    let mut text = repo.read("spec/tasks.md");
    text.push_str("\n### TASK-2: Added later\nP2 | TODO\n");
    repo.write("spec/tasks.md", &text);
    assert!(
        wait_for_line(&mut stderr, "✓ TASK-2 succeeded", &mut seen),
        "{seen}"
    );
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    // Idle when stopped: a clean end.
    assert_eq!(status.code(), Some(0), "{seen}{rest}");
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
    let wf = workflow(&repo, WRITE_FILE);
    for args in [
        &["run", &wf, "--all", "--until", "2000-01-01T00:00:00Z"][..],
        &["run", &wf, "--until", "2000-01-01T00:00:00Z"],
    ] {
        let r = repo.run(args);
        assert_eq!(r.code(), 7, "{args:?}: {}", r.stderr());
        assert!(
            r.stderr()
                .contains("--until 2000-01-01T00:00:00Z has passed"),
            "{}",
            r.stderr()
        );
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
    for args in [&["run", &wf, "--all"][..], &["run", &wf]] {
        let r = repo.engine().args(args).env("TZ", "UTC").output().unwrap();
        let r = support::Run { output: r };
        assert_eq!(r.code(), 7, "{args:?}: {}", r.stderr());
        assert!(
            r.stderr()
                .contains("outside the workflow's limits (work_hours"),
            "{}",
            r.stderr()
        );
    }
    let r = repo
        .engine()
        .args(["run", &wf, "--all", "--dry-run"])
        .env("TZ", "UTC")
        .output()
        .unwrap();
    let r = support::Run { output: r };
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(
        r.stdout()
            .contains("note: no run would start now: outside the workflow's limits"),
        "{}",
        r.stdout()
    );
    assert!(runs(&repo).is_empty());
    assert_eq!(repo.read("spec/tasks.md"), ten_tasks());
}
