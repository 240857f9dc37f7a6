use super::*;
use crate::fake_host::{FakeHost, context, says};
use serde_json::json;

const MEDIUM: &str = "Make the export command write its report to a file\n\n\
    The report currently goes to stdout only. Write it to the path given with --out, \
    create the parent directory when it is missing and keep stdout as the default.";

#[test]
fn rules_mode_outputs_the_tier_and_what_led_to_it() {
    let mut host = FakeHost::default();
    let ok = run_triage(&mut host, &context(MEDIUM, &["epic"], json!(null_config()))).unwrap();
    assert_eq!(ok.outputs["tier"], "genius");
    assert_eq!(ok.outputs["mode"], "rules");
    assert_eq!(ok.outputs["decision"], "run");
    assert_eq!(ok.outputs["reason"], "label `epic`");
    assert_eq!(ok.outputs["signals"], json!(["label:epic -> genius"]));
    assert_eq!(ok.outputs["suggested_tier"], "genius");
    assert_eq!(ok.outputs["forced_by"], Value::Null);
    assert_eq!(
        ok.outputs["files"],
        json!({"mentioned": [], "existing": null, "checked": false})
    );
    assert_eq!(ok.summary, "tier genius (rules): label `epic`");
    assert!(host.requests.is_empty(), "rules mode starts no agent");
}

fn null_config() -> Value {
    json!({})
}

#[test]
fn a_mounted_workspace_turns_on_file_hints() {
    let text = format!("{MEDIUM}\nTouch src/a.rs, src/b.rs, src/c.rs and src/gone.rs.");
    let mut host = FakeHost {
        files: Some(vec![
            "src/a.rs".into(),
            "src/b.rs".into(),
            "src/c.rs".into(),
        ]),
        ..FakeHost::default()
    };
    let ok = run_triage(
        &mut host,
        &context(&text, &[], json!({"files": {"smart": 2, "genius": 3}})),
    )
    .unwrap();
    assert_eq!(ok.outputs["tier"], "genius");
    assert_eq!(ok.outputs["files"]["existing"], 3);
    assert_eq!(ok.outputs["files"]["checked"], true);
}

#[test]
fn a_vague_task_needs_attention() {
    let mut host = FakeHost::default();
    let err = run_triage(&mut host, &context("stuff", &[], json!({}))).unwrap_err();
    assert!(err.is_needs_attention(), "{err:?}");
    assert!(
        err.message
            .starts_with("needs attention: the task is too vague"),
        "{}",
        err.message
    );
    assert_eq!(err.detail["decision"], "too_vague");
    assert_eq!(err.detail["mode"], "rules");
    assert!(err.detail["reason"].as_str().unwrap().contains("\"stuff\""));
}

#[test]
fn a_skip_label_needs_attention_in_both_modes_without_an_agent() {
    for mode in ["rules", "agent"] {
        let mut host = FakeHost::default();
        let err = run_triage(
            &mut host,
            &context(MEDIUM, &["wontfix"], json!({"mode": mode})),
        )
        .unwrap_err();
        assert!(err.is_needs_attention());
        assert_eq!(err.detail["decision"], "skip_label");
        assert!(host.requests.is_empty(), "{mode}");
    }
}

#[test]
fn a_stalled_run_is_forced_to_genius() {
    let mut ctx = context("Fix typo in README.md", &[], json!({"force_tier": "smart"}));
    ctx.outputs
        .insert("@run".into(), json!({"stalled": true, "resumed": true}));
    let mut host = FakeHost::default();
    let ok = run_triage(&mut host, &ctx).unwrap();
    assert_eq!(ok.outputs["tier"], "genius");
    assert_eq!(ok.outputs["suggested_tier"], "primitive");
    assert_eq!(ok.outputs["forced_by"], "stall");
    assert!(
        ok.outputs["reason"]
            .as_str()
            .unwrap()
            .starts_with("an earlier agent attempt of this run stalled"),
        "{}",
        ok.outputs["reason"]
    );
    assert!(
        host.logs
            .iter()
            .any(|(l, m)| *l == LogLevel::Warn && m.contains("stalled"))
    );
    // Not stalled: force_tier applies.
    ctx.outputs
        .insert("@run".into(), json!({"stalled": false, "resumed": true}));
    let ok = run_triage(&mut FakeHost::default(), &ctx).unwrap();
    assert_eq!(ok.outputs["tier"], "smart");
    assert_eq!(ok.outputs["forced_by"], "force_tier");
}

#[test]
fn agent_mode_outputs_the_agents_tier_and_costs_and_a_stall_still_wins() {
    let verdict = "{\"decision\": \"run\", \"tier\": \"primitive\", \"reason\": \"one line\"}";
    let mut host = FakeHost::new(vec![says(verdict)]);
    let mut ctx = context(MEDIUM, &[], json!({"mode": "agent"}));
    let ok = run_triage(&mut host, &ctx).unwrap();
    assert_eq!(ok.outputs["tier"], "primitive");
    assert_eq!(ok.outputs["mode"], "agent");
    assert_eq!(ok.outputs["agent"]["sessions"], 1);
    assert_eq!(ok.summary, "tier primitive (agent): one line");

    ctx.outputs.insert("@run".into(), json!({"stalled": true}));
    let mut host = FakeHost::new(vec![says(verdict)]);
    let ok = run_triage(&mut host, &ctx).unwrap();
    assert_eq!(ok.outputs["tier"], "genius");
    assert_eq!(ok.outputs["suggested_tier"], "primitive");
}

#[test]
fn an_agent_already_done_needs_attention_with_its_costs() {
    let mut host = FakeHost::new(vec![says(
        "```json\n{\"decision\": \"already_done\", \"reason\": \"export has --json\"}\n```",
    )]);
    let err = run_triage(&mut host, &context(MEDIUM, &[], json!({"mode": "agent"}))).unwrap_err();
    assert!(err.is_needs_attention());
    assert_eq!(
        err.detail["reason"],
        "the agent says the task is already done: export has --json"
    );
    assert_eq!(err.detail["decision"], "already_done");
    assert_eq!(err.detail["agent"]["sessions"], 1);
}

#[test]
fn an_unusable_config_is_fatal_and_names_the_field() {
    let err = run_triage(
        &mut FakeHost::default(),
        &context(MEDIUM, &[], json!({"size": {"small_chars": 9000}})),
    )
    .unwrap_err();
    assert!(!err.retryable);
    assert!(!err.is_needs_attention());
    assert_eq!(err.detail["field"], "size.small_chars");
}

#[test]
fn long_summaries_are_cut_to_one_line() {
    let long = "x".repeat(500);
    assert_eq!(cut(&long).chars().count(), MAX_SUMMARY_CHARS);
    assert_eq!(cut("a\nb"), "a");
}
