use std::path::Path;

use super::*;

fn check(yaml: &str) -> Vec<String> {
    let loaded = engine_workflow::load_str("wf.yaml", Path::new("."), yaml).unwrap();
    let config = AgentConfig::from_workflow(&loaded).unwrap();
    check_stage_backends(&loaded, &config)
        .iter()
        .map(|d| format!("{}:{}: {}: {}", d.line, d.col, d.field, d.message))
        .collect()
}

const STAGES: &str = r#"name: t
agents:
  custom:
    mine: { command: ["mine"] }
stages:
  triage:
    uses: builtin:triage
    with: { mode: agent, agent: { backend: aider } }
    permissions: { workspace: read, agent: true }
  execute:
    uses: builtin:agent
    needs: [triage]
    with: { backend: codex }
    permissions: { workspace: write, agent: true }
  review:
    uses: builtin:review
    needs: [execute]
    with:
      backend: gemini
      personas: [quality, { name: security, backend: opencode }, { name: docs, backend: mine }]
    permissions: { workspace: read, agent: true, exec: [git] }
"#;

#[test]
fn read_only_stages_work_with_every_backend() {
    assert_eq!(check(STAGES), Vec::<String>::new());
    for backend in engine_agent::backends::BUILTIN_BACKENDS {
        let yaml = STAGES
            .replace("backend: aider", &format!("backend: {backend}"))
            .replace("backend: gemini", &format!("backend: {backend}"));
        assert_eq!(check(&yaml), Vec::<String>::new(), "{backend}");
    }
}

#[test]
fn unknown_backends_are_reported_where_they_are_named() {
    let yaml = STAGES
        .replace("backend: aider", "backend: aidr")
        .replace("backend: codex", "backend: codx")
        .replace("backend: opencode", "backend: opncode");
    let problems = check(&yaml);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(
        problems[0]
            .starts_with("8:44: stages.triage.with.agent.backend: unknown agent backend \"aidr\""),
        "{problems:#?}"
    );
    assert!(problems[0].contains("mine"), "{problems:#?}");
    assert!(
        problems[1]
            .starts_with("13:22: stages.execute.with.backend: unknown agent backend \"codx\""),
        "{problems:#?}"
    );
    assert!(
        problems[2]
            .contains("stages.review.with.personas[1].backend: unknown agent backend \"opncode\""),
        "{problems:#?}"
    );
    // Triage in rules mode starts no session: its agent settings are not checked.
    let rules = STAGES.replace(
        "mode: agent, agent: { backend: aider }",
        "agent: { backend: aidr }",
    );
    assert_eq!(check(&rules), Vec::<String>::new());
}

#[test]
fn tool_lists_are_refused_on_backends_that_cannot_restrict_tools() {
    let with_tools = |backend: &str| {
        STAGES.replace(
            "with: { backend: codex }",
            &format!("with: {{ backend: {backend}, denied_tools: [Bash] }}"),
        )
    };
    assert_eq!(check(&with_tools("claude")), Vec::<String>::new());
    for backend in ["codex", "gemini", "opencode", "aider", "cursor", "mine"] {
        let problems = check(&with_tools(backend));
        assert_eq!(problems.len(), 1, "{backend}: {problems:#?}");
        let expected = format!(
            "stages.execute.with.denied_tools: backend \"{backend}\" cannot restrict tools"
        );
        assert!(problems[0].starts_with("13:"), "{problems:#?}");
        assert!(problems[0].contains(&expected), "{problems:#?}");
    }
}
