//! `engine tasks start|done|block|check|next|graph` through the real binary on a temporary git
//! repository: byte-exact edits of spec/tasks.md (only the one line changes, never the next
//! task's), refusals with exit 2 that write nothing (unknown id, a done task started, an item
//! that does not exist, a read-only workflow, a source without `check-item`), the next task
//! and why the others wait, and the graph as text, DOT and Mermaid with hostile titles.

use std::path::Path;

use crate::support::TestRepo;

const TASKS: &str = "\
# Tasks

## Milestone 1: MVP

### TASK-1: Set up the project
🔴 P0 | ✅ DONE | Est: 1d

### TASK-2: Implement user login
🔴 P0 | ⬜ TODO | Est: 2d

**Checklist:**
- [x] Create login endpoint
- [ ] Add JWT token generation\r
- [ ] Write tests

**Depends on:** [TASK-1]

### TASK-20: A longer id on the next line
🟠 P1 | ⬜ TODO
**Checklist:**
- [ ] Not TASK-2's item

### TASK-3: Needs login
🟡 P2 | ⬜ TODO
**Depends on:** [TASK-2], [TASK-99]
";

fn repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("spec/tasks.md", TASKS).commit_all("tasks");
    repo
}

/// `TASKS` with `from` replaced by `to` once (the expected file after one edit).
fn edited(from: &str, to: &str) -> String {
    assert!(TASKS.contains(from), "{from}");
    TASKS.replacen(from, to, 1)
}

/// No temporary file is left next to the tasks file.
fn no_leftovers(repo: &TestRepo) {
    let names: Vec<String> = std::fs::read_dir(repo.path().join("spec"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["tasks.md"]);
}

#[test]
fn start_done_and_block_edit_only_the_status_of_that_task() {
    let repo = repo();
    let r = repo.run(&["tasks", "start", "TASK-2", "-f", "spec/tasks.md"]);
    r.succeeds().stdout_is("TASK-2: todo -> in_progress\n");
    let started = edited(
        "🔴 P0 | ⬜ TODO | Est: 2d",
        "🔴 P0 | 🔄 IN_PROGRESS | Est: 2d",
    );
    repo.assert_file("spec/tasks.md", &started);
    // Again: nothing to do, nothing written.
    repo.run(&["tasks", "spec/tasks.md", "start", "TASK-2"])
        .succeeds()
        .stdout_is("TASK-2 is already in_progress; nothing changed\n");
    repo.assert_file("spec/tasks.md", &started);

    let r = repo.run(&[
        "tasks",
        "block",
        "TASK-20",
        "--reason",
        "waiting for design",
        "-f",
        "spec/tasks.md",
        "--json",
    ]);
    r.succeeds();
    let doc = r.json();
    assert_eq!(doc["id"], "TASK-20");
    assert_eq!(doc["status_before"], "todo");
    assert_eq!(doc["status"], "blocked");
    assert_eq!(doc["changed"], true);
    let blocked = started.replacen("🟠 P1 | ⬜ TODO", "🟠 P1 | ⏸️ BLOCKED", 1);
    repo.assert_file("spec/tasks.md", &blocked);

    repo.run(&["tasks", "done", "TASK-2", "-f", "spec/tasks.md"])
        .succeeds()
        .stdout_is("TASK-2: in_progress -> done\n");
    let done = blocked.replacen(
        "🔴 P0 | 🔄 IN_PROGRESS | Est: 2d",
        "🔴 P0 | ✅ DONE | Est: 2d",
        1,
    );
    repo.assert_file("spec/tasks.md", &done);
    // Starting a blocked task lifts the mark.
    repo.run(&["tasks", "start", "TASK-20", "-f", "spec/tasks.md"])
        .succeeds()
        .stdout_is("TASK-20: blocked -> in_progress\n");
    no_leftovers(&repo);
}

#[test]
fn check_ticks_one_item_byte_exactly_and_undo_unticks_it() {
    let repo = repo();
    repo.run(&["tasks", "check", "TASK-2", "2", "-f", "spec/tasks.md"])
        .succeeds()
        .stdout_is("TASK-2: item 2 (Add JWT token generation) ticked\n");
    // The CRLF of that line is kept; the next task's item is untouched.
    let ticked = edited(
        "- [ ] Add JWT token generation\r",
        "- [x] Add JWT token generation\r",
    );
    repo.assert_file("spec/tasks.md", &ticked);
    repo.run(&["tasks", "check", "TASK-2", "2", "-f", "spec/tasks.md"])
        .succeeds()
        .stdout_is(
            "TASK-2: item 2 (Add JWT token generation) was already ticked; nothing changed\n",
        );
    let r = repo.run(&[
        "tasks",
        "check",
        "TASK-2",
        "1",
        "--undo",
        "-f",
        "spec/tasks.md",
        "--json",
    ]);
    r.succeeds();
    let doc = r.json();
    assert_eq!(doc["checklist"][0]["done"], false);
    assert_eq!(doc["checklist"][1]["done"], true);
    repo.assert_file(
        "spec/tasks.md",
        &ticked.replacen(
            "- [x] Create login endpoint",
            "- [ ] Create login endpoint",
            1,
        ),
    );
    no_leftovers(&repo);
}

#[test]
fn refusals_exit_2_and_write_nothing() {
    let repo = repo();
    let cases: [(&[&str], &str); 6] = [
        (
            &["start", "TASK-4"],
            "error: builtin:tasks-md has no task TASK-4 (`engine tasks` lists them)\n",
        ),
        (
            &["done", "TASK-"],
            "error: builtin:tasks-md has no task TASK- (`engine tasks` lists them)\n",
        ),
        (
            &["start", "TASK-1"],
            "error: TASK-1 is done; starting it again makes no sense (to reopen it, set its status to TODO in the source)\n",
        ),
        (
            &["block", "TASK-1"],
            "error: TASK-1 is done; a finished task cannot be blocked (to reopen it, set its status to TODO in the source)\n",
        ),
        (
            &["check", "TASK-2", "4"],
            "error: TASK-2 has 3 checklist items; item 4 does not exist\n",
        ),
        (
            &["check", "TASK-3", "1"],
            "error: TASK-3 has no checklist\n",
        ),
    ];
    for (args, expected) in cases {
        let r = repo
            .engine()
            .args(["tasks"])
            .args(args)
            .args(["-f", "spec/tasks.md"])
            .run();
        r.exits(2).stderr_is(expected);
        assert_eq!(r.stdout(), "", "{}", r.context());
    }
    let r = repo.run(&[
        "tasks",
        "spec/tasks.md",
        "start",
        "TASK-2",
        "-f",
        "spec/tasks.md",
    ]);
    r.exits(2).stderr_has("the tasks file is given twice");
    repo.assert_file("spec/tasks.md", TASKS);
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
}

#[test]
fn a_workflow_s_source_writes_only_with_the_write_grant() {
    let repo = repo();
    let stage = "stages:\n  only: { uses: builtin:gate, with: { commands: [\"true\"] }, permissions: { workspace: read, exec: [\"true\"] } }\n";
    repo.write(
        "workflows/engine.yaml",
        &format!("name: ro\ntasks: {{ source: tasks-md, path: spec/tasks.md }}\n{stage}"),
    );
    // The default workflow is used without -f.
    let r = repo.run(&["tasks", "start", "TASK-2"]);
    r.exits(2).stderr_has(
        "the task source builtin:tasks-md is read-only here: grant it \
         `tasks.permissions.workspace: write`",
    );
    repo.assert_file("spec/tasks.md", TASKS);
    repo.write(
        "workflows/engine.yaml",
        &format!(
            "name: rw\ntasks: {{ source: tasks-md, path: spec/tasks.md, permissions: {{ workspace: write }} }}\n{stage}"
        ),
    );
    repo.run(&["tasks", "start", "TASK-2"]).succeeds();
    repo.assert_file(
        "spec/tasks.md",
        &edited(
            "🔴 P0 | ⬜ TODO | Est: 2d",
            "🔴 P0 | 🔄 IN_PROGRESS | Est: 2d",
        ),
    );
}

/// Writes an executable fake `bd` into `dir/bin` listing one open issue.
fn fake_bd(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = "#!/bin/sh\ncase \"$*\" in\n\"list --json --limit 0\") echo '[{\"id\":\"bd-1\",\"title\":\"Set up CI\",\"status\":\"open\",\"priority\":1}]' ;;\n*) echo \"fake bd: unexpected $*\" >&2; exit 1 ;;\nesac\n";
    let path = bin.join("bd");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[test]
fn a_source_without_check_item_cannot_tick() {
    let repo = repo();
    let dir = tempfile::tempdir().unwrap();
    let bin = fake_bd(dir.path());
    repo.workflow(
        "name: beads\ntasks: { source: beads, permissions: { exec: [bd] } }\nstages:\n  only: { uses: builtin:gate, with: { commands: [\"true\"] }, permissions: { workspace: read, exec: [\"true\"] } }\n",
    );
    let r = repo
        .engine()
        .args(["tasks", "check", "bd-1", "1", "-f", "workflow.yaml"])
        .path_first(&bin)
        .run();
    r.exits(2).stderr_is(
        "error: this task source cannot tick checklist items: builtin:beads does not export \
         `check-item` (world engine:stage/source-checklist)\n",
    );
}

#[test]
fn next_names_the_task_run_all_would_start_and_why_others_wait() {
    let repo = repo();
    let r = repo.run(&["tasks", "next", "-f", "spec/tasks.md"]);
    r.succeeds().stdout_is(
        "next: TASK-2 (P0, todo) Implement user login\n\
         not ready: TASK-3 blocked by TASK-2 (todo), TASK-99 (unknown)\n",
    );
    let r = repo.run(&["tasks", "spec/tasks.md", "next", "--json"]);
    r.succeeds();
    let doc = r.json();
    assert_eq!(doc["next"]["id"], "TASK-2");
    assert_eq!(doc["not_ready"][0]["id"], "TASK-3");
    // Nothing ready: exit 8, like a plain `engine run` that finds no task.
    repo.write(
        "spec/tasks.md",
        "### TASK-1: A\nP0 | BLOCKED\n\n### TASK-2: B\nP0 | TODO\n**Depends on:** TASK-1\n",
    );
    let r = repo.run(&["tasks", "next", "-f", "spec/tasks.md"]);
    r.exits(8).stdout_is(
        "no task is ready\nnot ready: TASK-1 blocked by status blocked\n\
         not ready: TASK-2 blocked by TASK-1 (blocked)\n",
    );
}

#[test]
fn graph_as_text_dot_and_mermaid_keeps_hostile_titles_inside_their_labels() {
    let repo = TestRepo::new();
    repo.write(
        "spec/tasks.md",
        "### TASK-1: Quote \" back\\slash ]\"] --> evil; <b>#x\nP0 | DONE\n\n\
         ### TASK-2: Second\nP1 | TODO\n**Depends on:** TASK-1, TASK-9\n",
    );
    let text = repo.run(&["tasks", "graph", "-f", "spec/tasks.md"]);
    text.succeeds().stdout_is(
        "TASK-1 [done] Quote \" back\\slash ]\"] --> evil; <b>#x\n\
         TASK-2 [todo] Second\n  <- TASK-1 [done]\n  <- TASK-9 [unknown]\n",
    );
    let dot = repo.run(&["tasks", "graph", "--format", "dot", "-f", "spec/tasks.md"]);
    dot.succeeds().stdout_is(
        "digraph tasks {\n  rankdir=LR;\n  node [shape=box, style=filled];\n  \
         \"TASK-1\" [label=\"TASK-1\\nQuote \\\" back\\\\slash ]\\\"] --> evil; <b>#x\\n(done)\", fillcolor=palegreen];\n  \
         \"TASK-2\" [label=\"TASK-2\\nSecond\\n(todo)\", fillcolor=white];\n  \
         \"TASK-9\" [label=\"TASK-9\\n(unknown)\", style=dashed, fillcolor=white];\n  \
         \"TASK-1\" -> \"TASK-2\";\n  \"TASK-9\" -> \"TASK-2\";\n}\n",
    );
    let mermaid = repo.run(&[
        "tasks",
        "graph",
        "--format",
        "mermaid",
        "-f",
        "spec/tasks.md",
    ]);
    mermaid.succeeds().stdout_is(
        "flowchart LR\n  \
         t0[\"TASK-1: Quote #quot; back\\slash ]#quot;] --#gt; evil; #lt;b#gt;#35;x\"]:::done\n  \
         t1[\"TASK-2: Second\"]:::todo\n  u0[\"TASK-9 (unknown)\"]:::unknown\n  \
         t0 --> t1\n  u0 --> t1\n  classDef done fill:#cfc\n  classDef in_progress fill:#cdf\n  \
         classDef blocked fill:#fcc\n  classDef todo fill:#fff\n  classDef unknown stroke-dasharray: 4\n",
    );
    repo.run(&["tasks", "graph", "-f", "spec/tasks.md", "--json"])
        .exits(2)
        .stderr_has("engine tasks --json");
}

#[test]
fn listing_without_a_subcommand_is_unchanged() {
    let repo = repo();
    let r = repo.run(&["tasks", "spec/tasks.md", "--json"]);
    r.succeeds();
    assert_eq!(r.json()["source"], "builtin:tasks-md");
    repo.assert_file("spec/tasks.md", TASKS);
}

#[test]
fn sources_with_and_without_check_item_are_both_task_sources() {
    let repo = TestRepo::new();
    // tasks-md exports world source-checklist (source + check-item), beads world source.
    for source in ["builtin:tasks-md", "builtin:beads"] {
        let r = repo
            .engine()
            .args(["plugin", "check", source])
            .env("ENGINE_COMPILE_PROGRESS_AFTER_MS", "off")
            .run();
        r.succeeds()
            .stdout_has(&format!("{source}: ok: a task source this engine can load"))
            .stdout_has("kind:          task source");
    }
}

#[test]
fn a_source_that_cannot_write_refuses_with_exit_2() {
    let repo = TestRepo::new();
    repo.write(
        ".beads/issues.jsonl",
        "{\"id\":\"bd-1\",\"title\":\"x\",\"status\":\"open\",\"priority\":1}\n",
    );
    repo.workflow(
        "name: beads\ntasks: { source: beads, permissions: { exec: [bd] } }\nstages:\n  only: { uses: builtin:gate, with: { commands: [\"true\"] }, permissions: { workspace: read, exec: [\"true\"] } }\n",
    );
    // Without `bd` the Beads source reads its export and answers `unsupported`.
    let empty = tempfile::tempdir().unwrap();
    let path = format!("{}:/usr/bin:/bin", empty.path().display());
    let r = repo
        .engine()
        .args(["tasks", "start", "bd-1", "-f", "workflow.yaml"])
        .env("PATH", &path)
        .run();
    r.exits(2)
        .stderr_has("error: this task source cannot change task statuses: bd is not installed");
    repo.assert_file(
        ".beads/issues.jsonl",
        "{\"id\":\"bd-1\",\"title\":\"x\",\"status\":\"open\",\"priority\":1}\n",
    );
}
