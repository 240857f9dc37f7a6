//! Unit tests of [`super`]: fields, statuses and every Beads dependency type.

use super::*;
use crate::issue::issues_from;

fn located(json: serde_json::Value) -> Vec<Located> {
    issues_from(json, "test")
        .unwrap()
        .into_iter()
        .map(|issue| Located {
            issue,
            location: None,
        })
        .collect()
}

fn listed(json: serde_json::Value, facts: &Facts) -> (Vec<Task>, Vec<Diagnostic>) {
    tasks(&located(json), &Config::default(), facts)
}

fn deps<'a>(tasks: &'a [Task], id: &str) -> Vec<&'a str> {
    let task = tasks.iter().find(|t| t.id == id).unwrap();
    task.depends_on.iter().map(String::as_str).collect()
}

fn status(tasks: &[Task], id: &str) -> TaskStatus {
    tasks.iter().find(|t| t.id == id).unwrap().status
}

fn dep(target: &str, kind: &str) -> serde_json::Value {
    serde_json::json!({ "depends_on_id": target, "type": kind })
}

#[test]
fn fields_map_to_the_task() {
    let (tasks, warnings) = listed(
        serde_json::json!([{
            "id": "bd-a1.1", "title": "Add login", "description": "Users sign in.\n",
            "design": "JWT", "acceptance_criteria": "- [ ] works", "notes": "  ",
            "status": "open", "priority": 0, "issue_type": "feature", "labels": ["auth"],
            "external_ref": "gh-12", "estimated_minutes": 120,
            "dependencies": [dep("bd-a1", "parent-child")]
        }, { "id": "bd-a1", "priority": 9000, "estimated_minutes": 45, "labels": null }]),
        &Facts::default(),
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    let t = &tasks[0];
    assert_eq!(t.title, "Add login");
    assert_eq!(
        t.body,
        "Users sign in.\n\n## Design\n\nJWT\n\n## Acceptance criteria\n\n- [ ] works"
    );
    assert_eq!(
        (t.status, t.raw_status.as_str()),
        (TaskStatus::Todo, "open")
    );
    assert_eq!(t.priority, 0);
    assert_eq!(t.labels, ["auth", "type:feature"]);
    assert_eq!(t.milestone.as_deref(), Some("bd-a1"));
    assert_eq!(t.estimate.as_deref(), Some("2h"));
    assert_eq!(t.traces, ["gh-12"]);
    let parent = &tasks[1];
    assert_eq!(parent.title, "bd-a1");
    assert_eq!(parent.priority, 255);
    assert_eq!(parent.estimate.as_deref(), Some("45m"));
    assert!(parent.labels.is_empty());
}

#[test]
fn statuses_built_in_custom_and_unknown() {
    use TaskStatus::*;
    let mut config = Config::default();
    config
        .statuses
        .insert("review".into(), crate::config::StatusName::InProgress);
    let issues = located(serde_json::json!([
        { "id": "a", "status": "open" }, { "id": "b", "status": "in_progress" },
        { "id": "c", "status": "hooked" }, { "id": "d", "status": "blocked" },
        { "id": "e", "status": "deferred" }, { "id": "f", "status": "closed" },
        { "id": "g", "status": "pinned" }, { "id": "h", "status": "review" },
        { "id": "i", "status": "triage" }, { "id": "j" }
    ]));
    let (tasks, warnings) = tasks(&issues, &config, &Facts::default());
    let statuses: Vec<TaskStatus> = tasks.iter().map(|t| t.status).collect();
    assert_eq!(
        statuses,
        [
            Todo, InProgress, InProgress, Blocked, Blocked, Done, Done, InProgress, Blocked, Todo
        ]
    );
    assert_eq!(tasks[8].raw_status, "triage");
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].message.contains("`triage`"), "{warnings:?}");
}

#[test]
fn deferral_dates_block_open_issues_until_they_pass() {
    let facts = Facts {
        now: Some(unix_seconds("2026-06-01T00:00:00Z").unwrap()),
        ..Facts::default()
    };
    let (tasks, warnings) = listed(
        serde_json::json!([
            { "id": "later", "defer_until": "2030-01-01T00:00:00Z" },
            { "id": "past", "defer_until": "2020-01-01T00:00:00Z" },
            { "id": "odd", "defer_until": "next week" }
        ]),
        &facts,
    );
    assert_eq!(status(&tasks, "later"), TaskStatus::Blocked);
    assert_eq!(
        tasks[0].raw_status,
        "open, deferred until 2030-01-01T00:00:00Z"
    );
    assert_eq!(status(&tasks, "past"), TaskStatus::Todo);
    assert_eq!(status(&tasks, "odd"), TaskStatus::Todo);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
}

#[test]
fn blocks_wait_and_informational_types_do_not() {
    let (tasks, _) = listed(
        serde_json::json!([
            { "id": "a", "dependencies": [dep("b", "blocks"), dep("c", "related"),
                dep("d", "discovered-from"), { "depends_on_id": "e" }, dep("b", "blocks")] },
            { "id": "b" }, { "id": "c" }, { "id": "d" }, { "id": "e" }
        ]),
        &Facts::default(),
    );
    assert_eq!(deps(&tasks, "a"), ["b", "e"]);
}

#[test]
fn children_inherit_what_blocks_their_parents() {
    let (tasks, _) = listed(
        serde_json::json!([
            { "id": "epic", "issue_type": "epic", "dependencies": [dep("infra", "blocks")] },
            { "id": "epic.1", "dependencies": [dep("epic", "parent-child")] },
            { "id": "epic.1.1", "parent": "epic.1" },
            { "id": "infra" },
            { "id": "frozen", "status": "deferred" },
            { "id": "frozen.1", "dependencies": [dep("frozen", "parent-child")] },
            { "id": "old", "status": "closed", "dependencies": [dep("x", "blocks")] },
            { "id": "old.1", "dependencies": [dep("old", "parent-child")] }
        ]),
        &Facts::default(),
    );
    assert_eq!(deps(&tasks, "epic.1.1"), ["infra"]);
    assert_eq!(deps(&tasks, "epic.1"), ["infra", "epic.1.1"]);
    assert_eq!(deps(&tasks, "frozen.1"), ["frozen"]);
    assert!(deps(&tasks, "old.1").is_empty());
    // The epic waits for its blocker and its open child; a deferred parent does not wait.
    assert_eq!(deps(&tasks, "epic"), ["infra", "epic.1"]);
    assert!(deps(&tasks, "frozen").is_empty());
}

#[test]
fn parents_do_not_wait_for_children_that_wait_for_them_or_when_told_not_to() {
    let json = serde_json::json!([
        { "id": "p" },
        { "id": "p.1", "dependencies": [dep("p", "parent-child"), dep("p", "blocks")] },
        { "id": "p.2", "dependencies": [dep("p", "parent-child")] },
        { "id": "p.3", "status": "closed", "dependencies": [dep("p", "parent-child")] }
    ]);
    let (tasks, _) = listed(json.clone(), &Facts::default());
    assert_eq!(deps(&tasks, "p"), ["p.2"]);
    let config = Config {
        parents_wait_for_children: false,
        ..Config::default()
    };
    let (tasks, _) = super::tasks(&located(json), &config, &Facts::default());
    assert!(deps(&tasks, "p").is_empty());
}

#[test]
fn conditional_blocks_run_only_after_a_failure() {
    let (tasks, warnings) = listed(
        serde_json::json!([
            { "id": "plan-b", "dependencies": [dep("open", "conditional-blocks")] },
            { "id": "retry", "dependencies": [dep("failed", "conditional-blocks")] },
            { "id": "never", "dependencies": [dep("fine", "conditional-blocks")] },
            { "id": "open" },
            { "id": "failed", "status": "closed", "close_reason": "Build FAILED on CI" },
            { "id": "fine", "status": "closed", "close_reason": "Done" }
        ]),
        &Facts::default(),
    );
    assert_eq!(deps(&tasks, "plan-b"), ["open"]);
    assert_eq!(status(&tasks, "plan-b"), TaskStatus::Todo);
    assert_eq!(deps(&tasks, "retry"), ["failed"]);
    assert_eq!(status(&tasks, "retry"), TaskStatus::Todo);
    assert_eq!(status(&tasks, "never"), TaskStatus::Blocked);
    assert_eq!(tasks[2].raw_status, "open");
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0]
            .message
            .contains("never runs only if fine fails"),
        "{warnings:?}"
    );
}

#[test]
fn waits_for_gates_wait_for_all_or_any_children() {
    let any = serde_json::json!({ "depends_on_id": "spawner", "type": "waits-for",
        "metadata": "{\"gate\":\"any-children\"}" });
    let json = serde_json::json!([
        { "id": "all", "dependencies": [dep("spawner", "waits-for")] },
        { "id": "any", "dependencies": [any] },
        { "id": "spawner", "status": "closed" },
        { "id": "kid.1", "dependencies": [dep("spawner", "parent-child")] },
        { "id": "kid.2", "status": "in_progress", "parent": "spawner" },
        { "id": "empty-gate", "dependencies": [dep("nobody", "waits-for")] },
        { "id": "nobody" }
    ]);
    let (tasks, _) = listed(json.clone(), &Facts::default());
    assert_eq!(deps(&tasks, "all"), ["kid.1", "kid.2"]);
    assert_eq!(deps(&tasks, "any"), ["kid.1", "kid.2"]);
    assert!(deps(&tasks, "empty-gate").is_empty());
    assert_eq!(
        gates_to_check(&located(json.clone()), &Config::default()),
        ["spawner"]
    );

    // One closed child (seen by bd, not in the listing) opens the any-children gate only.
    let facts = Facts {
        closed_child: HashSet::from(["spawner".to_string()]),
        ..Facts::default()
    };
    let (tasks, _) = listed(json.clone(), &facts);
    assert!(deps(&tasks, "any").is_empty());
    assert_eq!(deps(&tasks, "all"), ["kid.1", "kid.2"]);

    // A closed child in the listing itself (an export) does the same.
    let mut with_closed = json.as_array().unwrap().clone();
    with_closed.push(serde_json::json!({ "id": "kid.3", "status": "closed", "parent": "spawner" }));
    let issues = located(serde_json::Value::Array(with_closed));
    let (tasks, _) = super::tasks(&issues, &Config::default(), &Facts::default());
    assert!(deps(&tasks, "any").is_empty());
    assert!(gates_to_check(&issues, &Config::default()).is_empty());
}

#[test]
fn deleted_targets_and_missing_parents_are_reported() {
    let facts = Facts {
        deleted: HashSet::from(["gone".to_string()]),
        ..Facts::default()
    };
    let (tasks, warnings) = listed(
        serde_json::json!([
            { "id": "a", "dependencies": [dep("gone", "blocks"), dep("ghost", "blocks")] },
            { "id": "b", "parent": "nowhere" },
            { "id": "b.1", "parent": "b" }
        ]),
        &facts,
    );
    assert_eq!(deps(&tasks, "a"), ["ghost"]);
    let messages: Vec<&str> = warnings.iter().map(|w| w.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "a depends on gone (blocks), which was deleted; the dependency is ignored",
            "the parent of b is nowhere, which is not an issue of this tracker"
        ]
    );
    let issues = located(serde_json::json!([{ "id": "x", "parent": "p",
        "dependencies": [dep("y", "blocks"), dep("z", "related"), dep("w", "waits-for")] }]));
    let referenced: Vec<&str> = referenced(&issues[0].issue).collect();
    assert_eq!(referenced, ["y", "w", "p"]);
}

#[test]
fn single_issues_keep_their_own_blockers() {
    let issue: Issue = serde_json::from_value(serde_json::json!({
        "id": "a", "status": "in_progress", "assignee": "run-1",
        "dependencies": [dep("b", "blocks"), dep("p", "parent-child")]
    }))
    .unwrap();
    let task = single(&issue, &Config::default(), None);
    assert_eq!(task.status, TaskStatus::InProgress);
    assert_eq!(task.depends_on, ["b"]);
    assert_eq!(task.milestone.as_deref(), Some("p"));
}
