//! `engine validate` refuses what could not start and warns about what this environment lacks
//! (issue 14): each finding through the real binary, with its exact output; `--strict` and
//! `--format github`.

use std::os::unix::fs::PermissionsExt;

use crate::support::TestRepo;

/// A directory holding an executable stand-in for each of `names` (for `path_first`): a test
/// of `validate` whose output must not depend on which agent CLIs this machine has.
pub(crate) fn fake_clis(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in names {
        let cli = dir.path().join(name);
        std::fs::write(&cli, "#!/bin/sh\nexit 1\n").unwrap();
        std::fs::set_permissions(&cli, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

/// A gate whose commands run programs the stage is not granted (`npm`, and `git` for the
/// baseline).
const GATE_NOT_GRANTED: &str = r#"name: checks
stages:
  test:
    uses: builtin:gate
    with:
      commands: ["cargo test", { run: [npm, test], name: js }]
      baseline: true
    permissions: { workspace: read, exec: [cargo] }
"#;

#[test]
fn a_gate_command_whose_program_is_not_granted_is_an_error_naming_the_grant() {
    let repo = TestRepo::new();
    repo.workflow(GATE_NOT_GRANTED);
    let r = repo.run(&["validate", "workflow.yaml"]);
    r.exits(2);
    insta::assert_snapshot!("gate_program_not_granted", r.stderr_normalised());
    // `run` refuses it the same way, before anything exists.
    repo.run(&["run", "workflow.yaml"]).exits(2);
    assert_eq!(repo.run_ids(), Vec::<String>::new());
    // The suggested grant is the fix.
    repo.workflow(&GATE_NOT_GRANTED.replace("exec: [cargo]", "exec: [cargo, npm, git]"));
    repo.run(&["validate", "workflow.yaml"])
        .succeeds()
        .stderr_is("");
}

#[test]
fn a_misspelled_backend_is_an_error_suggesting_the_nearest_name() {
    let repo = TestRepo::new();
    repo.workflow(
        r"name: agent
agents:
  custom:
    my-agent: { command: [my-agent] }
stages:
  execute:
    uses: builtin:agent
    with: { backend: codx }
    permissions: { workspace: write, agent: true }
  again:
    uses: builtin:agent
    needs: [execute]
    with: { backend: my-agnet }
    permissions: { workspace: write, agent: true }
",
    );
    let r = repo.run(&["validate", "workflow.yaml"]);
    r.exits(2);
    insta::assert_snapshot!("misspelled_backend", r.stderr_normalised());
}

/// An agent stage on a custom CLI that does not exist.
const MISSING_CLI: &str = r"name: agent
agents:
  custom:
    mine: { command: [engine-e2e-no-such-agent-cli, '{prompt_file}'] }
stages:
  execute:
    uses: builtin:agent
    with: { backend: mine }
    permissions: { workspace: write, agent: true }
";

#[test]
fn an_agent_cli_not_on_path_is_a_warning_and_strict_makes_it_an_error() {
    let repo = TestRepo::new();
    repo.workflow(MISSING_CLI);
    let r = repo.run(&["validate", "workflow.yaml"]);
    // A warning alone: exit 0, the workflow is fine.
    r.succeeds();
    insta::assert_snapshot!("cli_not_on_path", r.stderr_normalised());
    r.stdout_is("workflow.yaml: ok: workflow \"agent\", 1 stage: execute (builtin:agent)\n");
    let strict = repo.run(&["validate", "workflow.yaml", "--strict"]);
    strict.exits(2);
    strict.stdout_is("");
    insta::assert_snapshot!("cli_not_on_path_strict", strict.stderr_normalised());
    // Found on PATH, nothing to say.
    let bin = fake_clis(&["engine-e2e-no-such-agent-cli"]);
    repo.engine()
        .args(["validate", "workflow.yaml", "--strict"])
        .path_first(bin.path())
        .run()
        .succeeds()
        .stderr_is("");
}

/// A stage secret and an agent secret.
const SECRETS: &str = r#"name: secrets
agents:
  secrets: [ENGINE_E2E_AGENT_TOKEN]
stages:
  check:
    uses: builtin:gate
    secrets: [ENGINE_E2E_STAGE_TOKEN]
    with: { commands: ["true"] }
    permissions: { workspace: read, exec: ["true"] }
"#;

#[test]
fn an_unset_secret_is_a_warning() {
    let repo = TestRepo::new();
    repo.workflow(SECRETS);
    let r = repo
        .engine()
        .args(["validate", "workflow.yaml"])
        .env_remove("ENGINE_E2E_AGENT_TOKEN")
        .env_remove("ENGINE_E2E_STAGE_TOKEN")
        .run();
    r.succeeds();
    insta::assert_snapshot!("unset_secrets", r.stderr_normalised());
    // Set (even empty), nothing to say.
    repo.engine()
        .args(["validate", "workflow.yaml", "--strict"])
        .env("ENGINE_E2E_AGENT_TOKEN", "a")
        .env("ENGINE_E2E_STAGE_TOKEN", "")
        .run()
        .succeeds()
        .stderr_is("");
}

/// A budget on codex (which reports tokens, not USD) with a model no price covers. The CLI is
/// replaced by `sh` so that only the budget is wrong.
const UNPRICED: &str = r"name: budget
budget: { run_usd: 5 }
agents:
  backends:
    codex: { command: [sh] }
stages:
  execute:
    uses: builtin:agent
    with: { backend: codex, model: my-local-model }
    permissions: { workspace: write, agent: true }
";

#[test]
fn a_budget_on_an_agent_whose_cost_cannot_be_known_is_an_error() {
    let repo = TestRepo::new();
    repo.workflow(UNPRICED);
    let r = repo.run(&["validate", "workflow.yaml"]);
    r.exits(2);
    insta::assert_snapshot!("budget_without_price", r.stderr_normalised());
    // No model at all: nothing to price either.
    repo.workflow(&UNPRICED.replace(", model: my-local-model", ", budget_usd: 1"));
    let r = repo.run(&["validate", "workflow.yaml"]);
    r.exits(2);
    insta::assert_snapshot!("budget_without_model", r.stderr_normalised());
    // A price makes the spending countable.
    repo.workflow(&UNPRICED.replace(
        "budget: { run_usd: 5 }",
        "budget: { run_usd: 5 }\nprices: { my-local-model: { input: 1, output: 4 } }",
    ));
    repo.run(&["validate", "workflow.yaml"])
        .succeeds()
        .stderr_is("");
}

/// A custom CLI that names its sessions but cannot be told which one to resume.
const NO_SESSION: &str = r"name: custom
agents:
  custom:
    mine: { command: [sh, '{prompt_file}'], session_regex: '^session: (\S+)' }
stages:
  execute:
    uses: builtin:agent
    with: { backend: mine, completion: promise }
    permissions: { workspace: write, agent: true }
";

#[test]
fn a_custom_backend_without_session_under_continuation_is_an_error() {
    let repo = TestRepo::new();
    repo.workflow(NO_SESSION);
    let r = repo.run(&["validate", "workflow.yaml"]);
    r.exits(2);
    insta::assert_snapshot!("custom_backend_without_session", r.stderr_normalised());
    repo.workflow(
        &NO_SESSION.replace("'{prompt_file}']", "'{prompt_file}', '--resume={session}']"),
    );
    repo.run(&["validate", "workflow.yaml"])
        .succeeds()
        .stderr_is("");
}

#[test]
fn github_format_prints_one_annotation_per_finding() {
    let repo = TestRepo::new();
    // Two errors (a misspelled backend, a budget nobody can count) and a warning (an unset
    // secret). Warnings come from a workflow that loads: with errors of the file itself (its
    // schema, its stage graph, a gate's grants) only those are reported.
    repo.workflow(&format!(
        "{UNPRICED}  other:\n    uses: builtin:agent\n    needs: [execute]\n    \
         secrets: [ENGINE_E2E_STAGE_TOKEN]\n    with: {{ backend: codx }}\n    \
         permissions: {{ workspace: write, agent: true }}\n"
    ));
    let validate = |args: &[&str]| {
        repo.engine()
            .args(["validate", "workflow.yaml", "--format", "github"])
            .args(args)
            .env_remove("ENGINE_E2E_STAGE_TOKEN")
            .run()
    };
    let r = validate(&[]);
    r.exits(2);
    insta::assert_snapshot!("github_errors_and_warnings", r.stdout_normalised());
    r.stderr_is("error: the workflow is invalid (2 problems)\n");

    // Warnings alone: exit 0, the annotation and the ok line; --strict makes it an error.
    repo.workflow(SECRETS.replace("ENGINE_E2E_AGENT_TOKEN", "PATH").as_str());
    let r = validate(&[]);
    r.succeeds().stderr_is("");
    insta::assert_snapshot!("github_warning", r.stdout_normalised());
    let r = validate(&["--strict"]);
    r.exits(2);
    insta::assert_snapshot!("github_strict", r.stdout_normalised());
    r.stderr_is("error: the workflow is invalid (1 problem)\n");
}

#[test]
fn json_lists_every_finding_with_its_severity() {
    let repo = TestRepo::new();
    repo.workflow(MISSING_CLI);
    let r = repo.run(&["validate", "workflow.yaml", "--json"]);
    r.succeeds();
    let doc = r.json();
    assert_eq!(doc["ok"], true, "{doc:#}");
    assert_eq!(doc["findings"][0]["severity"], "warning", "{doc:#}");
    assert_eq!(
        doc["findings"][0]["field"], "stages.execute.with.backend",
        "{doc:#}"
    );
    assert_eq!(doc["findings"][0]["line"], 8, "{doc:#}");
    assert!(
        doc["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("workflow.yaml:8:22: stages.execute.with.backend: the agent CLI"),
        "{doc:#}"
    );
    let r = repo.run(&["validate", "workflow.yaml", "--json", "--strict"]);
    r.exits(2);
    let doc = r.json();
    assert_eq!(doc["ok"], false, "{doc:#}");
    assert_eq!(doc["findings"][0]["severity"], "error", "{doc:#}");
    assert_eq!(
        doc["diagnostics"][0]["field"],
        "stages.execute.with.backend"
    );
}

#[test]
fn without_a_file_validate_checks_the_workflow_init_writes() {
    let repo = TestRepo::new();
    repo.write("workflows/engine.yaml", SECRETS);
    let r = repo
        .engine()
        .args(["validate", "--strict"])
        .env("ENGINE_E2E_AGENT_TOKEN", "a")
        .env("ENGINE_E2E_STAGE_TOKEN", "b")
        .run();
    r.succeeds().stderr_is("");
    insta::assert_snapshot!("default_workflow", r.stdout_normalised());
}
