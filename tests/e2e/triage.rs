//! `builtin:triage` end to end: the real binary on a real git repository (rules mode, file
//! hints, a vague task, agent mode with the scripted agent playing Claude Code), and the
//! real component on the wasmtime host for what the CLI cannot give a task yet (labels) and
//! the run facts the driver passes (`@run.stalled`).

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use engine_core::{FailureKind, Permissions, Task};
use engine_runtime::{AttemptContext, AttemptRequest, Host, HostOptions, NullObserver};
use serde_json::{Value, json};
use support::agent::ScriptedAgent;
use support::{TestRepo, outcomes};

/// Exit code of a run that ended "needs attention".
const NEEDS_ATTENTION: i32 = 6;

/// A workflow whose first stage is triage (`triage`: the lines under `triage:`), followed by
/// `after`; with `agent`, the claude backend is the scripted agent.
fn workflow(repo: &TestRepo, agent: Option<&ScriptedAgent>, triage: &str, after: &str) -> PathBuf {
    let agents = agent
        .map(|a| {
            format!(
                "agents:\n{}  limits: {{ post_result_grace: 1s }}\n",
                a.backends_yaml()
            )
        })
        .unwrap_or_default();
    repo.workflow(&format!(
        "name: triage\n\
         models: {{ genius: model-genius, smart: model-smart, primitive: model-primitive }}\n\
         {agents}stages:\n  triage:\n    uses: builtin:triage\n{triage}{after}"
    ))
}

/// An agent stage after triage that finishes on its promise.
const EXECUTE: &str = "  execute:
    uses: builtin:agent
    needs: [triage]
    with: { backend: claude, completion: promise }
    permissions: { workspace: write, agent: true }
    retry: { max_attempts: 1 }
";

fn run_task(repo: &TestRepo, wf: &std::path::Path, args: &[&str]) -> (support::Run, Value) {
    let mut all = vec!["run", wf.to_str().unwrap()];
    all.extend_from_slice(args);
    let r = repo.run(&all);
    let show = repo.show(&r.run_id());
    (r, show)
}

fn triage_outputs(show: &Value) -> &Value {
    &show["state"]["stages"]["triage"]["outputs"]
}

/// The run ended "needs attention", stopped by triage with a reason starting with `reason`.
fn assert_needs_attention(show: &Value, reason: &str) {
    let status = &show["state"]["status"];
    assert_eq!(status["status"], "needs_attention", "{status}");
    assert_eq!(status["stage"], "triage", "{status}");
    assert!(
        status["reason"]
            .as_str()
            .unwrap_or_default()
            .starts_with(reason),
        "{status}"
    );
}

fn signals(outputs: &Value) -> Vec<String> {
    serde_json::from_value(outputs["signals"].clone()).unwrap()
}

#[test]
fn a_bare_triage_stage_validates_and_unknown_keys_are_located() {
    let repo = TestRepo::new();
    let wf = workflow(&repo, None, "", "");
    let r = repo.run(&["validate", wf.to_str().unwrap()]);
    assert_eq!(r.code(), 0, "no with:, no permissions: {}", r.stderr());
    let wf = workflow(&repo, None, "    with: { mode: rules, tiers: {} }\n", "");
    let r = repo.run(&["validate", wf.to_str().unwrap()]);
    assert_ne!(r.code(), 0);
    assert!(r.stderr().contains("workflow.yaml:"), "{}", r.stderr());
    assert!(r.stderr().contains("tiers"), "{}", r.stderr());
}

#[test]
fn rules_mode_picks_primitive_for_a_small_task_and_genius_for_a_large_one() {
    let repo = TestRepo::new();
    let wf = workflow(&repo, None, "", "");
    let (r, show) = run_task(
        &repo,
        &wf,
        &["--task", "Fix the typo in the greeting message"],
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let out = triage_outputs(&show);
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
    let (r, show) = run_task(&repo, &wf, &["--task-file", task_file.to_str().unwrap()]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let out = triage_outputs(&show);
    assert_eq!(out["tier"], "genius", "{out}");
    assert!(
        out["reason"].as_str().unwrap().contains("a large task"),
        "{out}"
    );
    assert_eq!(out["size"]["lines"], 71, "{out}");
}

#[test]
fn file_hints_count_the_named_files_that_exist_only_when_the_workspace_is_granted() {
    let repo = TestRepo::new();
    for name in ["src/a.rs", "src/b.rs", "src/c.rs"] {
        repo.write(name, "fn main() {}\n");
    }
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "sources"]);
    let task = "Log the errors of src/a.rs, src/b.rs, src/c.rs and src/new.rs";
    let with = "    with: { files: { smart: 2, genius: 3 } }\n";

    let granted = workflow(
        &repo,
        None,
        &format!("{with}    permissions: {{ workspace: read }}\n"),
        "",
    );
    let (r, show) = run_task(&repo, &granted, &["--task", task]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let out = triage_outputs(&show);
    assert_eq!(out["tier"], "genius", "{out}");
    assert_eq!(out["files"]["existing"], 3, "{out}");
    assert_eq!(out["files"]["mentioned"].as_array().unwrap().len(), 4);

    let not_granted = workflow(&repo, None, with, "");
    let (r, show) = run_task(&repo, &not_granted, &["--task", task]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let out = triage_outputs(&show);
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
    let wf = workflow(&repo, Some(&agent), "", EXECUTE);
    let (r, show) = run_task(&repo, &wf, &["--task", "the login page"]);
    let failure = &show["state"]["stages"]["triage"]["last_failure"];
    assert_eq!(failure["kind"], "needs_attention", "{failure}");
    assert_eq!(failure["detail"]["needs_attention"], true, "{failure}");
    assert_eq!(failure["detail"]["decision"], "too_vague", "{failure}");
    assert_needs_attention(&show, "the task is too vague");
    assert!(
        failure["detail"]["reason"]
            .as_str()
            .unwrap()
            .contains("\"the login page\""),
        "{failure}"
    );
    assert_eq!(outcomes(&show)["triage"], vec!["failed"], "never retried");
    assert!(agent.invocations().is_empty(), "the agent never ran");
    assert_eq!(
        r.code(),
        NEEDS_ATTENTION,
        "a run that needs attention exits 6: {}",
        r.stderr()
    );
}

/// Triage in agent mode, granted agent sessions, no retry.
const AGENT_TRIAGE: &str = "    with: { mode: agent }
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
    let wf = workflow(&repo, Some(&agent), AGENT_TRIAGE, EXECUTE);
    let (r, show) = run_task(
        &repo,
        &wf,
        &["--task", "Change the greeting in src/lib.txt"],
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let out = triage_outputs(&show);
    assert_eq!(out["tier"], "genius", "{out}");
    assert_eq!(out["mode"], "agent");
    assert_eq!(out["reason"], "the greeting is used everywhere");
    assert_eq!(out["agent"]["sessions"], 1);
    assert_eq!(
        outcomes(&show)["execute"],
        vec!["succeeded"],
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
    let spend = &show["state"]["stages"]["triage"]["history"][0]["spend"];
    assert!(
        (spend["cost_usd"].as_f64().unwrap() - 0.03).abs() < 1e-9,
        "{spend}"
    );
}

#[test]
fn an_unparseable_verdict_is_asked_again_in_the_same_session() {
    let repo = TestRepo::new();
    let script = r#"
- - say: I would call this a medium-sized change.
- - say: "{\"decision\": \"run\", \"tier\": \"primitive\", \"reason\": \"one line\"}"
"#;
    let agent = ScriptedAgent::new(script);
    let wf = workflow(&repo, Some(&agent), AGENT_TRIAGE, "");
    let (r, show) = run_task(
        &repo,
        &wf,
        &["--task", "Change the greeting in src/lib.txt"],
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let out = triage_outputs(&show);
    assert_eq!(out["tier"], "primitive", "{out}");
    assert_eq!(out["agent"]["sessions"], 2);
    let calls = agent.invocations();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[1]["resume"], calls[0]["session_id"],
        "the follow-up resumes the first session"
    );
    let follow_up = calls[1]["prompt"].as_str().unwrap();
    assert!(follow_up.contains("only the JSON"), "{follow_up}");
}

#[test]
fn no_verdict_even_on_the_follow_up_fails_the_attempt_as_retryable() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new("- - say: Looks fine to me.\n");
    let wf = workflow(&repo, Some(&agent), AGENT_TRIAGE, EXECUTE);
    let (r, show) = run_task(
        &repo,
        &wf,
        &["--task", "Change the greeting in src/lib.txt"],
    );
    assert_eq!(r.code(), 1, "{}", r.stderr());
    let failure = &show["state"]["stages"]["triage"]["last_failure"];
    assert_eq!(failure["kind"], "retryable", "{failure}");
    assert_eq!(failure["detail"]["verdict_unparsed"], true, "{failure}");
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
    let wf = workflow(&repo, Some(&agent), AGENT_TRIAGE, EXECUTE);
    let (r, show) = run_task(&repo, &wf, &["--task", "Make src/lib.txt say hello"]);
    let failure = &show["state"]["stages"]["triage"]["last_failure"];
    assert_eq!(failure["kind"], "needs_attention", "{failure}");
    assert_eq!(failure["detail"]["decision"], "already_done");
    assert_needs_attention(&show, "the agent says the task is already done");
    assert_eq!(
        failure["detail"]["reason"],
        "the agent says the task is already done: src/lib.txt already says hello"
    );
    assert_eq!(agent.invocations().len(), 1, "execute never started");
    assert_eq!(r.code(), NEEDS_ATTENTION, "{}", r.stderr());
}

#[test]
fn agent_mode_without_the_agent_grant_fails_saying_what_to_grant() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new("- - say: unused\n");
    let wf = workflow(
        &repo,
        Some(&agent),
        "    with: { mode: agent }\n    retry: { max_attempts: 1 }\n",
        "",
    );
    assert_eq!(repo.run(&["validate", wf.to_str().unwrap()]).code(), 0);
    let (r, show) = run_task(
        &repo,
        &wf,
        &["--task", "Change the greeting in src/lib.txt"],
    );
    assert_eq!(r.code(), 1, "{}", r.stderr());
    let failure = &show["state"]["stages"]["triage"]["last_failure"];
    assert_eq!(failure["kind"], "fatal", "{failure}");
    assert!(
        failure["message"]
            .as_str()
            .unwrap()
            .contains("permissions: { agent: true }"),
        "{failure}"
    );
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
    let wf = workflow(&repo, Some(&agent), "", &execute);
    let (r, show) = run_task(&repo, &wf, &["--task", "Fix the typo in the greeting"]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert_eq!(triage_outputs(&show)["tier"], "primitive");
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
            "retry: { max_attempts: 1 }\n    on_failure: { goto: triage, max_loops: 1 }\n",
        );
    let wf = workflow(&repo, Some(&agent), "", &execute);
    let (r, show) = run_task(&repo, &wf, &["--task", "Fix the typo in the greeting"]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let o = outcomes(&show);
    assert_eq!(o["triage"], vec!["succeeded", "succeeded"]);
    assert_eq!(o["execute"], vec!["failed", "succeeded"]);
    let out = triage_outputs(&show);
    assert_eq!(out["tier"], "genius", "{out}");
    assert_eq!(out["suggested_tier"], "primitive", "{out}");
    assert_eq!(out["forced_by"], "stall", "{out}");
    let calls = agent.invocations();
    assert_eq!(calls[0]["model"], "model-primitive");
    assert_eq!(calls[1]["model"], "model-genius");
}

// --- The component on the host: labels and the run facts -------------------------------

fn host() -> Host {
    Host::new(HostOptions {
        cache_dir: support::cache_dir(),
    })
    .unwrap()
}

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
                labels: labels.iter().map(|l| l.to_string()).collect(),
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
