//! `builtin:triage` end to end: the real binary on a real git repository (rules mode, file
//! hints, a vague task, agent mode with the scripted agent playing Claude Code), and the
//! real component on the wasmtime host for what the CLI cannot give a task yet (labels) and
//! the run facts the driver passes (`@run.stalled`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use engine_core::{FailureKind, Permissions, Task};
use engine_runtime::{AttemptContext, AttemptRequest, Host, HostOptions, NullObserver};
use serde_json::{Value, json};

use crate::support::agent::ScriptedAgent;
use crate::support::{EngineOutput, RunReport, TestRepo, Workflow};

/// Exit code of a run that ended "needs attention".
const NEEDS_ATTENTION: i32 = 6;

/// A workflow with model tiers whose first stage is triage (`triage`: its keys besides
/// `uses`, unindented); with `agent`, the claude backend is the scripted agent.
fn triage_first(agent: Option<&ScriptedAgent>, triage: &str) -> Workflow {
    let workflow = Workflow::named("triage")
        .top("models: { genius: model-genius, smart: model-smart, primitive: model-primitive }");
    let workflow = match agent {
        Some(agent) => workflow.agents(agent, "limits: { post_result_grace: 1s }"),
        None => workflow,
    };
    workflow.stage("triage", &format!("uses: builtin:triage\n{triage}"))
}

/// An agent stage after triage that finishes on its promise.
const EXECUTE: &str = "uses: builtin:agent
needs: [triage]
with: { backend: claude, completion: promise }
permissions: { workspace: write, agent: true }
retry: { max_attempts: 1 }
";

/// `engine run workflow.yaml --task TASK`.
#[track_caller]
fn run_task<'r>(repo: &'r TestRepo, task: &str) -> EngineOutput<'r> {
    repo.engine()
        .args(["run", "workflow.yaml"])
        .task(task)
        .run()
}

/// The run ended "needs attention", stopped by triage with a reason starting with `reason`.
#[track_caller]
fn assert_needs_attention(report: &RunReport, reason: &str) {
    let status = &report.state.status;
    assert_eq!(status.name, "needs_attention", "{status:?}");
    assert_eq!(status.stage.as_deref(), Some("triage"), "{status:?}");
    assert!(
        status
            .reason
            .as_deref()
            .unwrap_or_default()
            .starts_with(reason),
        "{status:?}"
    );
}

/// Triage's signals, from its outputs.
fn signals(outputs: &Value) -> Vec<String> {
    serde_json::from_value(outputs["signals"].clone()).unwrap()
}

#[test]
fn a_bare_triage_stage_validates_and_unknown_keys_are_located() {
    let repo = TestRepo::new();
    // No with:, no permissions:
    triage_first(None, "").write(&repo);
    repo.run(&["validate", "workflow.yaml"]).succeeds();
    triage_first(None, "with: { mode: rules, tiers: {} }").write(&repo);
    let r = repo.run(&["validate", "workflow.yaml"]);
    assert_ne!(r.code(), 0, "{}", r.context());
    insta::assert_snapshot!("unknown_key_located", r.stderr_normalised());
}

#[test]
fn rules_mode_picks_primitive_for_a_small_task_and_genius_for_a_large_one() {
    let repo = TestRepo::new();
    triage_first(None, "").write(&repo);
    let r = run_task(&repo, "Fix the typo in the greeting message");
    r.succeeds();
    let report = r.report();
    let out = &report.stage("triage").outputs;
    assert_eq!(out["tier"], "primitive", "{out}");
    assert_eq!(out["mode"], "rules");
    assert_eq!(out["decision"], "run");
    let s = signals(out);
    assert!(s.iter().any(|s| s.starts_with("size:small")), "{s:?}");
    assert!(
        s.contains(&"keyword:typo -> primitive".to_string()),
        "{s:?}"
    );

    let large = format!(
        "Rework the export pipeline\n\n{}",
        "- export every record with its metadata and keep the order stable\n".repeat(70)
    );
    let task_file = repo.path().join("large-task.md");
    std::fs::write(&task_file, large).unwrap();
    let r = repo
        .engine()
        .args(["run", "workflow.yaml", "--task-file"])
        .args([&task_file])
        .run();
    r.succeeds();
    let report = r.report();
    let out = &report.stage("triage").outputs;
    assert_eq!(out["tier"], "genius", "{out}");
    insta::assert_snapshot!("large_task_reason", out["reason"].as_str().unwrap());
    assert_eq!(out["size"]["lines"], 71, "{out}");
}

#[test]
fn file_hints_count_the_named_files_that_exist_only_when_the_workspace_is_granted() {
    let repo = TestRepo::new();
    for name in ["src/a.rs", "src/b.rs", "src/c.rs"] {
        repo.write(name, "fn main() {}\n");
    }
    repo.commit_all("sources");
    let task = "Log the errors of src/a.rs, src/b.rs, src/c.rs and src/new.rs";
    let with = "with: { files: { smart: 2, genius: 3 } }";

    triage_first(None, &format!("{with}\npermissions: {{ workspace: read }}")).write(&repo);
    let r = run_task(&repo, task);
    r.succeeds();
    let report = r.report();
    let out = &report.stage("triage").outputs;
    assert_eq!(out["tier"], "genius", "{out}");
    assert_eq!(out["files"]["existing"], 3, "{out}");
    assert_eq!(out["files"]["mentioned"].as_array().unwrap().len(), 4);

    triage_first(None, with).write(&repo);
    let r = run_task(&repo, task);
    r.succeeds();
    let report = r.report();
    let out = &report.stage("triage").outputs;
    assert_eq!(out["tier"], "primitive", "only the size voted: {out}");
    assert_eq!(out["files"]["checked"], false);
    assert!(
        signals(out)
            .iter()
            .any(|s| s.contains("not checked (workspace not mounted)")),
        "{out}"
    );
}

#[test]
fn a_vague_task_ends_the_run_needing_attention_before_the_agent_runs() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new("- - say: \"should not run <promise>COMPLETE</promise>\"\n");
    triage_first(Some(&agent), "")
        .stage("execute", EXECUTE)
        .write(&repo);
    let r = run_task(&repo, "the login page");
    let report = r.report();
    let triage = report.stage("triage");
    let failure = triage.failure();
    assert_eq!(failure.kind, "needs_attention", "{failure:?}");
    assert_eq!(failure.detail["needs_attention"], true, "{failure:?}");
    assert_eq!(failure.detail["decision"], "too_vague", "{failure:?}");
    assert_needs_attention(&report, "the task is too vague");
    // The reason quotes the task.
    insta::assert_snapshot!("too_vague", failure.detail["reason"].as_str().unwrap());
    assert_eq!(triage.outcomes(), ["failed"], "never retried");
    assert!(agent.invocations().is_empty(), "the agent never ran");
    // A run that needs attention exits 6.
    r.exits(NEEDS_ATTENTION);
}

/// Triage in agent mode, granted agent sessions, no retry.
const AGENT_TRIAGE: &str = "with: { mode: agent }
permissions: { agent: true }
retry: { max_attempts: 1 }
";

#[test]
fn agent_mode_takes_the_tier_from_the_verdict_and_the_run_goes_on() {
    let repo = TestRepo::new();
    let script = r#"
- - say: Read src/lib.txt; the greeting lives there.
  - cost: 0.03
  - say: "```json\n{\"decision\": \"run\", \"tier\": \"genius\", \"reason\": \"the greeting is used everywhere\"}\n```"
- - write: {path: src/greet.txt, content: "hello\n"}
  - say: "Done. <promise>COMPLETE</promise>"
"#;
    let agent = ScriptedAgent::new(script);
    triage_first(Some(&agent), AGENT_TRIAGE)
        .stage("execute", EXECUTE)
        .write(&repo);
    let r = run_task(&repo, "Change the greeting in src/lib.txt");
    r.succeeds();
    let report = r.report();
    let out = &report.stage("triage").outputs;
    assert_eq!(out["tier"], "genius", "{out}");
    assert_eq!(out["mode"], "agent");
    assert_eq!(out["reason"], "the greeting is used everywhere");
    assert_eq!(out["agent"]["sessions"], 1);
    assert_eq!(
        report.stage("execute").outcomes(),
        ["succeeded"],
        "the run went on"
    );
    let calls = agent.invocations();
    assert_eq!(calls.len(), 2);
    let triage = &calls[0];
    assert_eq!(
        triage["model"], "model-smart",
        "triage runs on the smart tier"
    );
    assert_eq!(triage["flags"]["--permission-mode"], "plan", "{triage}");
    let flags = triage["flags"].to_string();
    assert!(flags.contains("Read") && flags.contains("Grep"), "{flags}");
    assert!(flags.contains("Edit") && flags.contains("Bash"), "{flags}");
    assert!(
        triage["prompt"]
            .as_str()
            .unwrap()
            .contains("Change the greeting in src/lib.txt"),
        "{triage}"
    );
    let spend = report.stage("triage").history[0].spend;
    assert!((spend.cost_usd - 0.03).abs() < 1e-9, "{spend:?}");
}

#[test]
fn an_unparseable_verdict_is_asked_again_in_the_same_session() {
    let repo = TestRepo::new();
    let script = r#"
- - say: I would call this a medium-sized change.
- - say: "{\"decision\": \"run\", \"tier\": \"primitive\", \"reason\": \"one line\"}"
"#;
    let agent = ScriptedAgent::new(script);
    triage_first(Some(&agent), AGENT_TRIAGE).write(&repo);
    let r = run_task(&repo, "Change the greeting in src/lib.txt");
    r.succeeds();
    let report = r.report();
    let out = &report.stage("triage").outputs;
    assert_eq!(out["tier"], "primitive", "{out}");
    assert_eq!(out["agent"]["sessions"], 2);
    let calls = agent.invocations();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[1]["resume"], calls[0]["session_id"],
        "the follow-up resumes the first session"
    );
    // The follow-up asks for only the JSON.
    insta::assert_snapshot!("follow_up_prompt", calls[1]["prompt"].as_str().unwrap());
}

#[test]
fn no_verdict_even_on_the_follow_up_fails_the_attempt_as_retryable() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new("- - say: Looks fine to me.\n");
    triage_first(Some(&agent), AGENT_TRIAGE)
        .stage("execute", EXECUTE)
        .write(&repo);
    let r = run_task(&repo, "Change the greeting in src/lib.txt");
    r.exits(1);
    let report = r.report();
    let failure = report.stage("triage").failure();
    assert_eq!(failure.kind, "retryable", "{failure:?}");
    assert_eq!(failure.detail["verdict_unparsed"], true, "{failure:?}");
    assert_eq!(
        agent.invocations().len(),
        2,
        "asked once more, then gave up"
    );
}

#[test]
fn an_already_done_verdict_ends_the_run_needing_attention_with_the_reason() {
    let repo = TestRepo::new();
    let script = r#"
- - say: "{\"decision\": \"already_done\", \"reason\": \"src/lib.txt already says hello\"}"
- - say: "should not run <promise>COMPLETE</promise>"
"#;
    let agent = ScriptedAgent::new(script);
    triage_first(Some(&agent), AGENT_TRIAGE)
        .stage("execute", EXECUTE)
        .write(&repo);
    let r = run_task(&repo, "Make src/lib.txt say hello");
    let report = r.report();
    let failure = report.stage("triage").failure();
    assert_eq!(failure.kind, "needs_attention", "{failure:?}");
    assert_eq!(failure.detail["decision"], "already_done");
    assert_needs_attention(&report, "the agent says the task is already done");
    assert_eq!(
        failure.detail["reason"],
        "the agent says the task is already done: src/lib.txt already says hello"
    );
    assert_eq!(agent.invocations().len(), 1, "execute never started");
    r.exits(NEEDS_ATTENTION);
}

#[test]
fn agent_mode_without_the_agent_grant_fails_saying_what_to_grant() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new("- - say: unused\n");
    triage_first(
        Some(&agent),
        "with: { mode: agent }\nretry: { max_attempts: 1 }",
    )
    .write(&repo);
    repo.run(&["validate", "workflow.yaml"]).succeeds();
    let r = run_task(&repo, "Change the greeting in src/lib.txt");
    r.exits(1);
    let report = r.report();
    let failure = report.stage("triage").failure();
    assert_eq!(failure.kind, "fatal", "{failure:?}");
    // It says what to grant.
    insta::assert_snapshot!("agent_mode_not_granted", failure.message);
    assert!(agent.invocations().is_empty());
}

#[test]
fn the_tier_reaches_a_later_stage_through_a_template() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new("- - say: \"Done. <promise>COMPLETE</promise>\"\n");
    let execute = EXECUTE.replace(
        "with: { backend: claude, completion: promise }",
        "with: { backend: claude, completion: promise, model: \"{{ stages.triage.outputs.tier }}\" }",
    );
    triage_first(Some(&agent), "")
        .stage("execute", &execute)
        .write(&repo);
    let r = run_task(&repo, "Fix the typo in the greeting");
    r.succeeds();
    assert_eq!(r.report().stage("triage").outputs["tier"], "primitive");
    assert_eq!(agent.invocations()[0]["model"], "model-primitive");
}

#[test]
fn triage_run_again_after_a_stalled_agent_forces_the_top_tier() {
    let repo = TestRepo::new();
    let script = r#"
- - repeat:
      times: 5
      steps:
        - run: "sh -c 'echo boom; exit 1'"
- - say: "Fixed with a stronger model. <promise>COMPLETE</promise>"
"#;
    let agent = ScriptedAgent::new(script);
    let execute = EXECUTE
        .replace(
            "with: { backend: claude, completion: promise }",
            "with: { backend: claude, completion: promise, model: \"{{ stages.triage.outputs.tier }}\" }",
        )
        .replace(
            "retry: { max_attempts: 1 }\n",
            "retry: { max_attempts: 1 }\non_failure: { goto: triage, max_loops: 1 }\n",
        );
    triage_first(Some(&agent), "")
        .stage("execute", &execute)
        .write(&repo);
    let r = run_task(&repo, "Fix the typo in the greeting");
    r.succeeds();
    let report = r.report();
    let o = report.outcomes();
    assert_eq!(o["triage"], ["succeeded", "succeeded"]);
    assert_eq!(o["execute"], ["failed", "succeeded"]);
    let out = &report.stage("triage").outputs;
    assert_eq!(out["tier"], "genius", "{out}");
    assert_eq!(out["suggested_tier"], "primitive", "{out}");
    assert_eq!(out["forced_by"], "stall", "{out}");
    let calls = agent.invocations();
    assert_eq!(calls[0]["model"], "model-primitive");
    assert_eq!(calls[1]["model"], "model-genius");
}

// --- The component on the host: labels and the run facts -------------------------------

/// A wasmtime host sharing the tests' component cache.
fn host() -> Host {
    Host::new(HostOptions {
        cache_dir: crate::support::cache_dir(),
    })
    .unwrap()
}

/// An attempt of triage on the task `text` with `labels`, configured by `config`, seeing
/// `outputs` of earlier stages.
fn attempt(
    text: &str,
    labels: &[&str],
    config: Value,
    outputs: BTreeMap<String, Value>,
) -> AttemptRequest {
    AttemptRequest {
        context: AttemptContext {
            run_id: "run1".into(),
            stage_id: "triage".into(),
            attempt: 1,
            task: Task {
                id: "t1".into(),
                title: text.lines().next().unwrap_or_default().into(),
                body: text.into(),
                labels: labels
                    .iter()
                    .map(std::string::ToString::to_string)
                    .collect(),
            },
            config,
            outputs,
            feedback: None,
            interrupted: false,
            previous_failure: None,
            git: None,
        },
        workspace: None,
        permissions: Permissions::default(),
        timeout: Duration::from_secs(30),
        memory_limit_bytes: 256 << 20,
        exec_env: Vec::new(),
        confinement: None,
        observer: Arc::new(NullObserver),
        agent: None,
    }
}

const MEDIUM: &str = "Make the export command write its report to a file\n\n\
    The report goes to stdout only. Write it to the path given with --out, create the \
    parent directory when it is missing and keep stdout as the default.";

#[tokio::test]
async fn labels_pick_the_tier_and_do_not_run_labels_need_attention() {
    let host = host();
    let stage = host
        .load(engine_runtime::builtin("triage").unwrap(), "builtin:triage")
        .unwrap();
    let ok = host
        .run_attempt(
            &stage,
            attempt(MEDIUM, &["Epic"], json!({}), BTreeMap::new()),
        )
        .await
        .unwrap();
    assert_eq!(ok.outputs["tier"], "genius", "{:?}", ok.outputs);
    assert_eq!(ok.outputs["reason"], "label `Epic`");

    let custom = json!({ "labels": { "quick-win": "primitive" } });
    let ok = host
        .run_attempt(
            &stage,
            attempt(MEDIUM, &["quick-win"], custom, BTreeMap::new()),
        )
        .await
        .unwrap();
    assert_eq!(ok.outputs["tier"], "primitive");

    let failure = host
        .run_attempt(
            &stage,
            attempt(MEDIUM, &["duplicate"], json!({}), BTreeMap::new()),
        )
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Fatal);
    assert_eq!(failure.detail["needs_attention"], true);
    assert_eq!(failure.detail["decision"], "skip_label");
    assert!(
        failure.message.starts_with("needs attention: "),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn a_run_whose_agent_stalled_is_forced_to_the_top_tier() {
    let host = host();
    let stage = host
        .load(engine_runtime::builtin("triage").unwrap(), "builtin:triage")
        .unwrap();
    let stalled = BTreeMap::from([(
        "@run".to_string(),
        json!({ "stalled": true, "resumed": true }),
    )]);
    let ok = host
        .run_attempt(
            &stage,
            attempt("Fix the typo in README.md", &[], json!({}), stalled),
        )
        .await
        .unwrap();
    assert_eq!(ok.outputs["tier"], "genius", "{:?}", ok.outputs);
    assert_eq!(ok.outputs["suggested_tier"], "primitive");
    assert_eq!(ok.outputs["forced_by"], "stall");
}
