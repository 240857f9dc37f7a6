//! `engine plan` through the real binary, the scripted agent standing in for Claude Code: a
//! one-line description becomes a tasks.md that `engine tasks` lists and `engine run --all`
//! works through; `--full` writes requirements and design with traces that resolve; a bad
//! draft goes back to the agent once, then nothing is written; appending keeps every existing
//! byte and `--force` replaces; questions without a terminal name themselves, `--answers`
//! answers them in advance; hostile replies (injections into existing tasks, escapes, paths)
//! change nothing. The terminal dialogue is unit-tested (`engine/src/plan/dialogue.rs`).

use crate::support::agent::ScriptedAgent;
use crate::support::{TestRepo, Workflow};

/// A session of the scripted agent whose final message is `text`.
fn says(text: &str) -> String {
    format!(
        "- - say: {}\n",
        serde_json::to_string(text).expect("a string serialises")
    )
}

/// A workflow with the scripted agent as claude, spec/tasks.md as its task source and one gate
/// stage: what `engine run --all` works through.
fn workflow(repo: &TestRepo, agent: &ScriptedAgent) {
    Workflow::named("planned")
        .top("tasks: { source: tasks-md, path: spec/tasks.md, permissions: { workspace: write } }")
        .agents(agent, "")
        .stage(
            "work",
            "uses: builtin:gate\nwith: { commands: [\"sh -c 'echo {{ task.id }} >> done.txt'\"] }\n\
             permissions: { workspace: write, exec: [sh] }",
        )
        .write(repo);
}

fn plan<'r>(repo: &'r TestRepo, args: &[&str]) -> crate::support::EngineOutput<'r> {
    let mut all = vec!["plan", "--workflow", "workflow.yaml"];
    all.extend_from_slice(args);
    repo.engine().args(all).run()
}

const TWO_TASKS: &str = "\
## Milestone 1: Export

### TASK-001: Add the --json flag
🟠 P1 | ⬜ TODO | Est: 1d

Add a --json flag to the export command.

**Checklist:**
- [ ] Parse the flag
- [ ] Test it

**Depends on:** —

### TASK-002: Document the flag
P2 | TODO

**Checklist:**
- [ ] Update the docs

**Depends on:** [TASK-001]
";

fn block(name: &str, text: &str) -> String {
    format!("```{name}\n{text}```\n")
}

#[test]
fn a_one_line_description_becomes_tasks_that_engine_lists_and_runs() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(&says(&format!(
        "I read the code. Here is the plan.\n\n{}",
        block("tasks.md", TWO_TASKS)
    )));
    workflow(&repo, &agent);
    plan(&repo, &["Add a --json flag to export"])
        .succeeds()
        .stdout_is(
            "created spec/tasks.md\n  TASK-001  Add the --json flag\n  TASK-002  Document the \
             flag  (depends on TASK-001)\n2 new tasks; `engine tasks` lists them, `engine run \
             --all` works through them\n",
        );
    repo.assert_file("spec/tasks.md", TWO_TASKS);

    // One read-only session, told the format and not to ask (stdin is not a terminal).
    let calls = agent.invocations();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["flags"]["--permission-mode"], "plan");
    let prompt = calls[0]["prompt"].as_str().unwrap();
    assert!(prompt.contains("Add a --json flag to export"), "{prompt}");
    assert!(
        prompt.contains("### TASK-001: <short imperative title>"),
        "{prompt}"
    );
    assert!(prompt.contains("Do not ask questions"), "{prompt}");

    repo.engine()
        .args(["tasks", "spec/tasks.md"])
        .run()
        .succeeds()
        .stdout_has("TASK-001  todo    P1   yes");
    repo.commit_all("plan");
    repo.run(&["run", "workflow.yaml", "--all"]).succeeds();
    let tasks = repo.read("spec/tasks.md");
    assert_eq!(tasks.matches("DONE").count(), 2, "{tasks}");
}

const FULL_REQUIREMENTS: &str = "\
## Export

#### REQ-001: JSON export
The export command prints JSON when asked.

**Acceptance criteria:**
- `export --json` prints one JSON document
";

const FULL_DESIGN: &str = "\
#### DESIGN-001: A --json flag on export
The flag switches the printer.

**Traces to:** [REQ-001]
";

const FULL_TASKS: &str = "\
## Milestone 1: Export

### TASK-001: Add the --json flag
P1 | TODO

**Checklist:**
- [ ] Parse the flag

**Traces to:** [REQ-001], [DESIGN-001]
**Depends on:** —
";

#[test]
fn full_writes_requirements_design_and_tasks_whose_traces_resolve() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(&says(&format!(
        "{}\n{}\n{}",
        block("requirements.md", FULL_REQUIREMENTS),
        block("design.md", FULL_DESIGN),
        block("tasks.md", FULL_TASKS)
    )));
    workflow(&repo, &agent);
    let out = plan(&repo, &["Add JSON export", "--full", "--json"]);
    out.succeeds();
    let doc = out.json();
    assert_eq!(doc["written"], true);
    assert_eq!(
        doc["files"],
        serde_json::json!([
            {"path": "spec/requirements.md", "action": "create"},
            {"path": "spec/design.md", "action": "create"},
            {"path": "spec/tasks.md", "action": "create"},
        ])
    );
    assert_eq!(
        doc["tasks"][0]["traces"],
        serde_json::json!(["REQ-001", "DESIGN-001"])
    );
    repo.assert_file("spec/requirements.md", FULL_REQUIREMENTS);
    repo.assert_file("spec/design.md", FULL_DESIGN);
    repo.assert_file("spec/tasks.md", FULL_TASKS);
    let prompt = agent.invocations()[0]["prompt"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        prompt.contains("```requirements.md\n#### REQ-001"),
        "{prompt}"
    );
}

#[test]
fn full_refuses_traces_to_items_nobody_defined() {
    let repo = TestRepo::new();
    let bad = format!(
        "{}\n{}\n{}",
        block("requirements.md", FULL_REQUIREMENTS),
        block(
            "design.md",
            "#### DESIGN-001: X\n**Traces to:** [REQ-404]\n"
        ),
        block(
            "tasks.md",
            &FULL_TASKS.replace("[DESIGN-001]", "[DESIGN-007]")
        )
    );
    let agent = ScriptedAgent::new(&format!("{}{}", says(&bad), says(&bad)));
    workflow(&repo, &agent);
    plan(&repo, &["Add JSON export", "--full"])
        .exits(1)
        .stderr_has("design.md line 2: traces to REQ-404, which no requirement defines")
        .stderr_has(
            "tasks.md line 3: TASK-001 traces to DESIGN-007, which no requirement or design \
             item defines",
        );
    for file in ["spec/requirements.md", "spec/design.md", "spec/tasks.md"] {
        repo.assert_no_file(file);
    }
}

const BAD_DRAFT: &str = "\
## Milestone 1: Export

### TASK-001: No checklist
P1 | TODO

**Depends on:** [TASK-404]

### TASK-002: Chicken
P1 | TODO

**Checklist:**
- [ ] Egg first

**Depends on:** [TASK-003]

### TASK-003: Egg
P1 | TODO

**Checklist:**
- [ ] Chicken first

**Depends on:** [TASK-002]
";

#[test]
fn an_invalid_draft_goes_back_once_with_its_problems_then_nothing_is_written() {
    let repo = TestRepo::new();
    let bad = block("tasks.md", BAD_DRAFT);
    let agent = ScriptedAgent::new(&format!("{}{}", says(&bad), says(&bad)));
    workflow(&repo, &agent);
    let out = plan(&repo, &["Plan it"]);
    out.exits(1)
        .stderr_has("error: the agent's draft is invalid (3 problems), nothing was written:")
        .stderr_has("  - tasks.md line 3: TASK-001 has no checklist")
        .stderr_has("  - tasks.md line 3: TASK-001 depends on TASK-404, which is not a task")
        .stderr_has("dependency cycle TASK-002 -> TASK-003 -> TASK-002")
        .stderr_has("the draft is saved in");
    repo.assert_no_file("spec/tasks.md");

    let calls = agent.invocations();
    assert_eq!(calls.len(), 2, "one retry only");
    let retry = calls[1]["prompt"].as_str().unwrap();
    assert!(
        retry.contains("## Your previous answer was refused"),
        "{retry}"
    );
    assert!(
        retry.contains("- tasks.md line 3: TASK-001 has no checklist"),
        "{retry}"
    );
    // The CLI resumes its session: the previous answer is not repeated.
    assert_eq!(calls[1]["resume"], calls[0]["session_id"]);
    assert!(!retry.contains("Your previous answer was:"), "{retry}");

    // The refused draft is kept for the user to see.
    let plans = std::fs::read_dir(repo.path().join(".engine/plan")).unwrap();
    let dir = plans.map(|e| e.unwrap().path()).next().unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("draft/tasks.md")).unwrap(),
        BAD_DRAFT
    );
}

#[test]
fn a_draft_fixed_on_the_retry_is_written() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(&format!(
        "{}{}",
        says("I think we should add a flag."),
        says(&block("tasks.md", TWO_TASKS))
    ));
    workflow(&repo, &agent);
    plan(&repo, &["Plan it"]).succeeds();
    repo.assert_file("spec/tasks.md", TWO_TASKS);
    let retry = agent.invocations()[1]["prompt"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        retry.contains("the reply has no ```tasks.md block"),
        "{retry}"
    );
}

const EXISTING: &str = "\
# Tasks

## Milestone 1: MVP

### TASK-001: Set up the project
🔴 P0 | ✅ DONE

### TASK-002: Implement login
🔴 P0 | ⬜ TODO
**Depends on:** [TASK-001]
  trailing spaces and no final newline   ";

const APPENDED: &str = "\
## Milestone 2: Export

### TASK-003: Export as JSON
P1 | TODO

**Checklist:**
- [ ] Write it

**Depends on:** [TASK-002]
";

#[test]
fn appending_keeps_every_existing_byte_and_new_ids_continue() {
    let repo = TestRepo::new();
    repo.write("spec/tasks.md", EXISTING);
    let agent = ScriptedAgent::new(&says(&block("tasks.md", APPENDED)));
    workflow(&repo, &agent);
    plan(&repo, &["Export as JSON"])
        .succeeds()
        .stdout_has("appended to spec/tasks.md\n  TASK-003  Export as JSON  (depends on TASK-002)");
    repo.assert_file("spec/tasks.md", &format!("{EXISTING}\n\n{APPENDED}"));
    let prompt = agent.invocations()[0]["prompt"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        prompt.contains("- TASK-001 (done, Milestone 1: MVP): Set up the project"),
        "{prompt}"
    );
    assert!(
        prompt.contains("start with its heading again, exactly as above (`## Milestone 1: MVP`)"),
        "{prompt}"
    );
    assert!(
        prompt.contains("Number the new tasks from TASK-003 on"),
        "{prompt}"
    );
    repo.engine()
        .args(["tasks", "spec/tasks.md"])
        .run()
        .succeeds()
        .stdout_has("3 tasks: 1 ready, 1 not ready, 1 done");
}

#[test]
fn killed_before_the_rename_the_file_is_untouched_and_the_next_plan_cleans_up() {
    let repo = TestRepo::new();
    repo.write("spec/tasks.md", EXISTING);
    let agent = ScriptedAgent::new(&says(&block("tasks.md", APPENDED)));
    workflow(&repo, &agent);
    let mut held = repo
        .engine()
        .args(["plan", "--workflow", "workflow.yaml", "Export as JSON"])
        .hold("at:plan-write")
        .spawn();
    held.wait_for_stderr("holding at plan-write");
    held.kill9();
    // The file is as it was; the new text is only in the temporary file beside it.
    repo.assert_file("spec/tasks.md", EXISTING);
    let temps = || -> Vec<String> {
        std::fs::read_dir(repo.path().join("spec"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".engine-plan-"))
            .collect()
    };
    assert_eq!(temps().len(), 1, "{:?}", temps());
    // The next plan appends as if nothing happened and removes the dead plan's file.
    let agent = ScriptedAgent::new(&says(&block("tasks.md", APPENDED)));
    workflow(&repo, &agent);
    plan(&repo, &["Export as JSON"])
        .succeeds()
        .stdout_has("appended to spec/tasks.md");
    repo.assert_file("spec/tasks.md", &format!("{EXISTING}\n\n{APPENDED}"));
    assert_eq!(temps(), Vec::<String>::new());
}

#[test]
fn force_replaces_the_existing_tasks() {
    let repo = TestRepo::new();
    repo.write("spec/tasks.md", EXISTING);
    let agent = ScriptedAgent::new(&says(&block("tasks.md", TWO_TASKS)));
    workflow(&repo, &agent);
    plan(&repo, &["Start over", "--force"])
        .succeeds()
        .stdout_has("replaced spec/tasks.md");
    repo.assert_file("spec/tasks.md", TWO_TASKS);
    let prompt = agent.invocations()[0]["prompt"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!prompt.contains("Set up the project"), "{prompt}");
}

#[test]
fn dry_run_prints_the_checked_draft_and_writes_nothing() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(&says(&block("tasks.md", TWO_TASKS)));
    workflow(&repo, &agent);
    plan(&repo, &["Plan it", "--dry-run"])
        .succeeds()
        .stdout_has(&format!(
            "--- spec/tasks.md ---\n{TWO_TASKS}would create spec/tasks.md"
        ))
        .stdout_has("2 new tasks (dry run: nothing written)");
    repo.assert_no_file("spec/tasks.md");
}

#[test]
fn questions_without_a_terminal_are_an_error_that_names_them() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(&says(
        "```questions\n1. Which format, JSON or YAML?\n2. Keep the \u{1b}[2J old flag?\n```",
    ));
    workflow(&repo, &agent);
    let out = plan(&repo, &["Add an export", "--json"]);
    out.exits(1)
        .stderr_has("error: the agent asked 2 questions and there is no terminal to answer them")
        .stderr_has("  1. Which format, JSON or YAML?")
        .stderr_has("--answers FILE")
        .never_prints("\u{1b}[2J");
    let doc = out.json();
    assert_eq!(doc["error"]["exit_code"], 1);
    assert_eq!(doc["error"]["questions"][0], "Which format, JSON or YAML?");
    repo.assert_no_file("spec/tasks.md");
}

#[test]
fn an_answers_file_answers_in_advance() {
    let repo = TestRepo::new();
    repo.write(
        "answers.txt",
        "Which format? JSON only.\nKeep the old flag? Yes.\n",
    );
    let agent = ScriptedAgent::new(&says(&block("tasks.md", TWO_TASKS)));
    workflow(&repo, &agent);
    plan(&repo, &["Add an export", "--answers", "answers.txt"]).succeeds();
    let prompt = agent.invocations()[0]["prompt"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        prompt.contains("## Answers the user gave in advance\n\nWhich format? JSON only."),
        "{prompt}"
    );
    assert!(prompt.contains("Do not ask questions"), "{prompt}");
    repo.assert_file("spec/tasks.md", TWO_TASKS);
}

#[test]
fn a_draft_that_reaches_into_existing_tasks_is_refused_and_the_file_is_untouched() {
    let repo = TestRepo::new();
    repo.write("spec/tasks.md", EXISTING);
    // First it slips a dependency into the last existing task, then it re-declares one.
    let inject = block(
        "tasks.md",
        &format!("**Depends on:** [TASK-404]\n\n{APPENDED}"),
    );
    let redeclare = block(
        "tasks.md",
        "### TASK-002: Implement login\nP0 | DONE\n\n**Checklist:**\n- [x] done\n",
    );
    let agent = ScriptedAgent::new(&format!("{}{}", says(&inject), says(&redeclare)));
    workflow(&repo, &agent);
    plan(&repo, &["Sneak"])
        .exits(1)
        .stderr_has("duplicate task id TASK-002");
    repo.assert_file("spec/tasks.md", EXISTING);
    let retry = agent.invocations()[1]["prompt"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        retry.contains("- tasks.md: the first line must be a heading"),
        "{retry}"
    );
    assert!(
        retry.contains("- the draft changes tasks that already exist"),
        "{retry}"
    );
}

#[test]
fn hostile_replies_write_nowhere_else_and_print_no_escapes() {
    let repo = TestRepo::new();
    let titled = TWO_TASKS.replace("Add the --json flag", "Add \u{1b}]0;pwned\u{7} flag");
    let reply = format!(
        "```../../outside.md\nowned\n```\n```/etc/passwd\nroot\n```\n{}",
        block("tasks.md", &titled)
    );
    let agent = ScriptedAgent::new(&format!("{}{}", says(&reply), says(&reply)));
    workflow(&repo, &agent);
    // A control character in the draft is refused (twice: nothing written).
    plan(&repo, &["Plan it"])
        .exits(1)
        .stderr_has("tasks.md line 3: contains a control character")
        .never_prints("\u{1b}]0;");
    repo.assert_no_file("spec/tasks.md");
    assert!(!repo.path().join("../outside.md").exists());

    // engine decides paths: an --out outside the repository is refused before any session.
    let before = agent.invocations().len();
    plan(&repo, &["Plan it", "--out", "../elsewhere/tasks.md"])
        .exits(2)
        .stderr_has("is outside the repository");
    assert_eq!(agent.invocations().len(), before);
}

/// A pseudo-terminal whose input already holds `typed`: the engine's stdin is a terminal.
/// Returns the master (kept open while the engine runs) and the slave for its stdin.
fn terminal_typing(typed: &str) -> (std::fs::File, std::process::Stdio) {
    use std::io::Write as _;
    use std::os::fd::FromRawFd as _;
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two new descriptors; no name, termios or window size is passed.
    let rc = unsafe {
        libc::openpty(
            &raw mut master,
            &raw mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened by openpty and are owned here alone.
    let (mut master, slave) = unsafe {
        (
            std::fs::File::from_raw_fd(master),
            std::os::fd::OwnedFd::from_raw_fd(slave),
        )
    };
    master.write_all(typed.as_bytes()).unwrap();
    (master, std::process::Stdio::from(slave))
}

#[test]
fn on_a_terminal_questions_are_answered_and_the_write_confirmed() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(&format!(
        "{}{}",
        says("```questions\n1. Which format?\n2. Keep the old flag?\n```"),
        says(&block("tasks.md", TWO_TASKS))
    ));
    workflow(&repo, &agent);
    let (_master, stdin) = terminal_typing("JSON only\n\ny\n");
    let mut command = repo
        .engine()
        .args(["plan", "--workflow", "workflow.yaml", "Add an export"]);
    command.command_mut().stdin(stdin);
    command
        .run()
        .succeeds()
        .stderr_has("The agent asks 2 questions (an empty line leaves one to its judgement):\n1. Which format?\n> ")
        .stderr_has("2 new tasks (TASK-001, TASK-002): create spec/tasks.md\nWrite it? [y/N] ")
        .stdout_has("created spec/tasks.md");
    repo.assert_file("spec/tasks.md", TWO_TASKS);

    let calls = agent.invocations();
    assert_eq!(calls.len(), 2);
    let first = calls[0]["prompt"].as_str().unwrap();
    assert!(
        first.contains("you may instead ask clarifying questions"),
        "{first}"
    );
    let second = calls[1]["prompt"].as_str().unwrap();
    assert!(
        second.contains(
            "## Clarifications from the user\n\nQ: Which format?\nA: JSON only\n\nQ: Keep the \
             old flag?\nA: (no answer: use your judgement)\n"
        ),
        "{second}"
    );
    assert_eq!(calls[1]["resume"], calls[0]["session_id"]);
}

#[test]
fn on_a_terminal_declining_writes_nothing() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(&says(&block("tasks.md", TWO_TASKS)));
    workflow(&repo, &agent);
    let (_master, stdin) = terminal_typing("n\n");
    let mut command = repo
        .engine()
        .args(["plan", "--workflow", "workflow.yaml", "Add an export"]);
    command.command_mut().stdin(stdin);
    command
        .run()
        .exits(1)
        .stderr_has("error: not confirmed; nothing was written");
    repo.assert_no_file("spec/tasks.md");
}

#[test]
fn without_full_tasks_may_trace_to_existing_requirements_and_drafted_documents_are_ignored() {
    let repo = TestRepo::new();
    repo.write("spec/requirements.md", FULL_REQUIREMENTS);
    let reply = format!(
        "{}\n{}",
        block("requirements.md", "#### REQ-002: Sneaked in\n"),
        block(
            "tasks.md",
            &FULL_TASKS.replace("[REQ-001], [DESIGN-001]", "[REQ-001]")
        )
    );
    let agent = ScriptedAgent::new(&says(&reply));
    workflow(&repo, &agent);
    plan(&repo, &["Add JSON export"]).succeeds().stdout_is(
        "created spec/tasks.md\n  TASK-001  Add the --json flag\n1 new task; `engine tasks` \
             lists them, `engine run --all` works through them\n",
    );
    repo.assert_file("spec/requirements.md", FULL_REQUIREMENTS);
    repo.assert_no_file("spec/design.md");
    let prompt = agent.invocations()[0]["prompt"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(prompt.contains("Ids already defined: REQ-001."), "{prompt}");
}

#[test]
fn a_huge_reply_is_refused_not_cut() {
    let repo = TestRepo::new();
    let huge = block(
        "tasks.md",
        &format!("{TWO_TASKS}\n{}\n", "x".repeat(1_500_000)),
    );
    let agent = ScriptedAgent::new(&format!("{}{}", says(&huge), says(&huge)));
    workflow(&repo, &agent);
    plan(&repo, &["Plan it"])
        .exits(1)
        .stderr_has("the limit is 1048576 bytes");
    repo.assert_no_file("spec/tasks.md");
}

#[test]
fn an_agent_that_writes_to_the_checkout_gets_its_plan_discarded() {
    // Confinement off and a CLI that ignores its read-only mode: the change is seen.
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(&format!(
        "- - write: {{path: src/lib.txt, content: \"changed\\n\"}}\n  - say: {}\n",
        serde_json::to_string(&block("tasks.md", TWO_TASKS)).unwrap()
    ));
    Workflow::named("unconfined")
        .top("sandbox: { enabled: false }")
        .agents(&agent, "")
        .stage(
            "work",
            "uses: builtin:gate\nwith: { commands: [\"sh -c true\"] }\npermissions: { exec: [sh] }",
        )
        .write(&repo);
    plan(&repo, &["Plan it"])
        .exits(1)
        .stderr_has("error: the agent changed files it must only read: src/lib.txt");
    repo.assert_no_file("spec/tasks.md");
}

#[test]
fn confined_the_agent_cannot_write_the_checkout() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(&format!(
        "- - run: \"echo owned > README.md; echo owned > src/new.txt\"\n  - say: {}\n",
        serde_json::to_string(&block("tasks.md", TWO_TASKS)).unwrap()
    ));
    workflow(&repo, &agent);
    plan(&repo, &["Plan it"]).succeeds();
    repo.assert_file("README.md", "# demo\n");
    repo.assert_no_file("src/new.txt");
    repo.assert_file("spec/tasks.md", TWO_TASKS);
}

#[test]
fn any_configured_backend_plans_and_an_unknown_one_is_refused_first() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(&says(&block("tasks.md", TWO_TASKS)));
    workflow(&repo, &agent);
    plan(&repo, &["Plan it", "--backend", "nope"])
        .exits(2)
        .stderr_has("--backend nope: unknown agent backend");
    assert!(agent.invocations().is_empty());

    plan(
        &repo,
        &["Plan it", "--backend", "codex", "--model", "gpt-5-codex"],
    )
    .succeeds();
    let calls = agent.invocations();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["as"], "codex");
    assert_eq!(calls[0]["model"], "gpt-5-codex");
    assert_eq!(calls[0]["flags"]["--sandbox"], "read-only");
    repo.assert_file("spec/tasks.md", TWO_TASKS);
}
