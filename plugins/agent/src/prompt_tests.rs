use super::*;
use serde_json::json;

fn context() -> PromptContext {
    PromptContext {
        task: TaskView {
            id: "T-7".into(),
            title: "Add --json".into(),
            body: "Add a --json flag.\n\n## Acceptance criteria\n- prints JSON".into(),
            labels: vec!["cli".into()],
        },
        checklist: vec!["prints JSON".into()],
        feedback: None,
        attempt: 1,
        outputs: BTreeMap::new(),
        constitution: None,
        skill: None,
        completion_instructions: "say <promise>COMPLETE</promise>".into(),
        run_id: "r1".into(),
        stage_id: "execute".into(),
    }
}

#[test]
fn default_template_has_task_checklist_and_instructions() {
    let text = render("prompt", DEFAULT_TEMPLATE, &context()).unwrap();
    assert!(text.contains("# Task T-7: Add --json"), "{text}");
    assert!(text.contains("Add a --json flag."));
    assert!(text.contains("- prints JSON"));
    assert!(text.contains("say <promise>COMPLETE</promise>"));
    assert!(!text.contains("sent back"), "{text}");
    assert!(!text.contains("From earlier stages"), "{text}");
    assert!(!text.contains("{%"), "{text}");
}

#[test]
fn default_template_shows_feedback_and_outputs() {
    let mut ctx = context();
    ctx.attempt = 3;
    ctx.feedback = Some(FeedbackView::new(
        "test".into(),
        2,
        "`cargo test` failed (exit 101)".into(),
        json!({"command": "cargo test", "tail": "thread 'x' panicked\nassertion failed"}),
    ));
    ctx.outputs
        .insert("triage".into(), json!({"tier": "smart"}));
    let text = render("prompt", DEFAULT_TEMPLATE, &ctx).unwrap();
    assert!(text.contains("sent back (attempt 3)"), "{text}");
    assert!(text.contains("The `test` stage rejected it: `cargo test` failed (exit 101)"));
    assert!(
        text.contains("tail:\nthread 'x' panicked\nassertion failed"),
        "{text}"
    );
    assert!(text.contains(r#"- triage: {"tier":"smart"}"#), "{text}");
}

#[test]
fn default_template_without_instructions_or_checklist() {
    let mut ctx = context();
    ctx.checklist.clear();
    ctx.completion_instructions.clear();
    let text = render("prompt", DEFAULT_TEMPLATE, &ctx).unwrap();
    assert!(!text.contains("Acceptance criteria\nCheck"), "{text}");
    assert!(!text.contains("When you are done"), "{text}");
}

#[test]
fn custom_templates_see_every_variable() {
    let template = "{{ task.id }}|{{ task.labels|join(',') }}|{{ checklist|length }}|{{ attempt }}|{{ run_id }}/{{ stage_id }}|{% if feedback %}fb{% else %}none{% endif %}";
    assert_eq!(
        render("prompt", template, &context()).unwrap(),
        "T-7|cli|1|1|r1/execute|none"
    );
}

#[test]
fn template_errors_name_field_and_line() {
    let err = render("prompt", "line one\n{% if task %}\nno end", &context()).unwrap_err();
    assert_eq!(err.field, "prompt");
    assert!(err.line.is_some(), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("invalid `prompt` template at line"),
        "{err}"
    );

    let err = render("system_prompt", "ok\n{{ tsak.title }}", &context()).unwrap_err();
    assert_eq!(err.field, "system_prompt");
    assert_eq!(err.line, Some(2), "{err:?}");
    assert!(err.message.contains("undefined"), "{err}");
}

#[test]
fn continuation_prompt_gives_reason_and_instructions() {
    let p = continuation_prompt("your gate says not ready: tests fail", "write the gate");
    assert!(p.starts_with("You have not finished yet: your gate says not ready: tests fail."));
    assert!(p.ends_with("write the gate"));
    assert!(!continuation_prompt("x", "").ends_with("\n\n"));
}

#[test]
fn handoff_prompt_carries_files_and_last_message() {
    let p = handoff_prompt(
        "ORIGINAL",
        "ran out of context",
        &["src/a.rs".into(), "README.md".into()],
        "I fixed a.rs\nnext: docs",
    );
    assert!(p.starts_with("ORIGINAL\n\n## Handoff"));
    assert!(p.contains("ran out of context"));
    assert!(p.contains("- src/a.rs\n- README.md\n"));
    assert!(p.contains("> I fixed a.rs\n> next: docs\n"));
    assert!(handoff_prompt("O", "x", &[], "").contains("It changed no files."));
}

#[test]
fn detail_text_is_readable_and_bounded() {
    assert_eq!(detail_text(&Value::Null), "");
    assert_eq!(detail_text(&json!({})), "");
    assert_eq!(detail_text(&json!("plain")), "plain");
    assert_eq!(detail_text(&json!({"a": 1, "b": "x\ny"})), "a: 1\nb:\nx\ny");
    // A detail carrying its own readable `text` renders as that text only.
    assert_eq!(
        detail_text(&json!({"findings": [{"m": 1}], "text": "a.rs:1 [high] bug\nb.rs [low] nit"})),
        "a.rs:1 [high] bug\nb.rs [low] nit"
    );
    assert_eq!(detail_text(&json!({"a": 1, "text": " "})), "a: 1\ntext:");
    let long = "é".repeat(FEEDBACK_DETAIL_CHARS + 10);
    assert_eq!(
        detail_text(&json!(long)).chars().count(),
        FEEDBACK_DETAIL_CHARS
    );
}

#[test]
fn default_template_shows_the_constitution_and_the_skill_when_given() {
    let mut ctx = context();
    ctx.constitution = Some(json!({
        "path": "spec/constitution.md",
        "text": "- Never use unwrap.",
        "rules": ["Never use unwrap."],
    }));
    ctx.skill = Some(json!({
        "name": "web",
        "description": "Web features.",
        "prompt": "Use the design system.",
        "story": {"id": "WEB-1", "title": "Login", "description": "",
                  "acceptance_criteria": ["posts to /login", "shows errors"], "depends_on": []},
        "gates": [],
    }));
    let text = render("prompt", DEFAULT_TEMPLATE, &ctx).unwrap();
    assert!(
        text.contains("## Project constitution (spec/constitution.md)"),
        "{text}"
    );
    assert!(
        text.contains("<constitution>\n- Never use unwrap.\n</constitution>"),
        "{text}"
    );
    assert!(
        text.contains("## Skill: web\nWeb features.\n\nUse the design system."),
        "{text}"
    );
    assert!(
        text.contains("### Story WEB-1: Login\nAcceptance criteria (a reviewer checks each one):\n1. posts to /login\n2. shows errors"),
        "{text}"
    );
    let plain = render("prompt", DEFAULT_TEMPLATE, &context()).unwrap();
    assert!(!plain.contains("constitution"), "{plain}");
    assert!(!plain.contains("## Skill"), "{plain}");
}
