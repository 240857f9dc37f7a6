use std::path::Path;

use super::*;

fn check(yaml: &str) -> Vec<String> {
    let loaded = engine_workflow::load_str("wf.yaml", Path::new("."), yaml).unwrap();
    let config = AgentConfig::from_workflow(&loaded).unwrap();
    check_sessions(&loaded, &config)
        .iter()
        .map(|d| format!("{}:{}: {}: {}", d.line, d.col, d.field, d.message))
        .collect()
}

fn agent(head: &str, with: &str) -> String {
    format!(
        "name: t\n{head}\nstages:\n  execute:\n    uses: builtin:agent\n    with: {with}\n    \
         permissions: {{ workspace: write, agent: true }}\n"
    )
}

#[test]
fn a_budget_on_a_session_nobody_can_price_is_refused_at_the_model() {
    // codex reports tokens only; the model is in no table.
    let problems = check(&agent(
        "budget: { run_usd: 5 }",
        "{ backend: codex, model: my-model }",
    ));
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with(
            "6:36: stages.execute.with.model: a budget applies (budget.run_usd) but codex \
             reports no cost and no price is known for model my-model"
        ),
        "{problems:#?}"
    );
    assert!(problems[0].contains("prices: { my-model:"), "{problems:#?}");
    // A price makes it countable; so does a CLI that reports USD; no budget, nothing to count.
    let priced = "budget: { run_usd: 5 }\nprices: { my-model: { input: 1, output: 2 } }";
    assert_eq!(
        check(&agent(priced, "{ backend: codex, model: my-model }")),
        Vec::<String>::new()
    );
    assert_eq!(
        check(&agent(
            "budget: { day_usd: 5 }",
            "{ backend: claude, model: my-model }"
        )),
        Vec::<String>::new()
    );
    assert_eq!(
        check(&agent(
            "description: d",
            "{ backend: codex, model: my-model }"
        )),
        Vec::<String>::new()
    );
    // A model of the built-in table, directly or through a tier, is priced.
    assert_eq!(
        check(&agent(
            "budget: { run_usd: 5 }\nmodels: { smart: gpt-5-codex }",
            "{ backend: codex, model: smart }"
        )),
        Vec::<String>::new()
    );
    // A templated model is only known when the stage starts.
    assert_eq!(
        check(&agent(
            "budget: { run_usd: 5 }",
            "{ backend: codex, model: \"{{ task.title }}\" }"
        )),
        Vec::<String>::new()
    );
}

#[test]
fn a_budget_without_a_model_to_price_is_refused_and_every_budget_counts() {
    let problems = check(&agent(
        "description: d",
        "{ backend: gemini, budget_usd: 1 }",
    ));
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].contains(
            "stages.execute.with.backend: a budget applies (stages.execute.with.budget_usd) but \
             gemini reports no cost and the session names no model to price"
        ),
        "{problems:#?}"
    );
    let stage_budget = "name: t\nstages:\n  execute:\n    uses: builtin:agent\n    budget_usd: 2\n    with: { backend: cursor }\n    permissions: { workspace: write, agent: true }\n";
    let problems = check(stage_budget);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].contains("a budget applies (stages.execute.budget_usd) but cursor"),
        "{problems:#?}"
    );
}

#[test]
fn review_personas_and_agent_triage_are_priced_with_their_own_model() {
    let yaml = r"name: t
budget: { run_usd: 5 }
stages:
  triage:
    uses: builtin:triage
    with: { mode: agent, agent: { backend: codex } }
    permissions: { workspace: read, agent: true }
  review:
    uses: builtin:review
    with:
      personas: [quality, { name: security, backend: codex, model: nope-1 }]
    permissions: { workspace: read, agent: true, exec: [git] }
";
    let problems = check(yaml);
    // Triage asks for tier `smart` by default, which no `models:` maps to a priced model; the
    // security persona's own model is unpriced; quality runs on claude, which reports USD.
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[0].contains("stages.triage.with: a budget applies (budget.run_usd)"),
        "{problems:#?}"
    );
    assert!(problems[0].contains("model smart"), "{problems:#?}");
    assert!(
        problems[1].contains("stages.review.with.personas[1].model: a budget applies"),
        "{problems:#?}"
    );
}

const CUSTOM: &str = r"name: t
agents:
  custom:
    mine: { command: [mine, --prompt-file, '{prompt_file}'], session_regex: '^session: (\S+)' }
stages:
  execute:
    uses: builtin:agent
    with: { backend: mine }
    permissions: { workspace: write, agent: true }
";

#[test]
fn a_custom_backend_that_names_sessions_it_cannot_resume_is_refused() {
    let problems = check(CUSTOM);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with(
            "8:22: stages.execute.with.backend: custom backend \"mine\" names its sessions \
             (session_regex) but its command has no {session} placeholder"
        ),
        "{problems:#?}"
    );
    assert!(problems[0].contains("max_iterations: 10"), "{problems:#?}");
    // Fixed by the placeholder, by never resuming, or by a backend that names no session.
    let fixed = CUSTOM.replace("'{prompt_file}']", "'{prompt_file}', '--resume={session}']");
    assert_eq!(check(&fixed), Vec::<String>::new());
    let once = CUSTOM.replace(
        "{ backend: mine }",
        "{ backend: mine, continuation: { max_iterations: 1 } }",
    );
    assert_eq!(check(&once), Vec::<String>::new());
    let anonymous = CUSTOM.replace(r", session_regex: '^session: (\S+)'", "");
    assert_eq!(check(&anonymous), Vec::<String>::new());
    let jsonl = anonymous.replace("'{prompt_file}']", "'{prompt_file}'], format: jsonl");
    assert_eq!(check(&jsonl).len(), 1);
}
