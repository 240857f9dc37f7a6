//! `engine validate` through the real binary: every problem reported as <file:line:col> with the
//! field, exit code 2; golden files for the messages (tests/e2e/snapshots).

use crate::support::TestRepo;

const BROKEN: &str = r#"name: broken
stages:
  build:
    uses: builtin:gate
    with:
      commands: 5
    permissions: { exec: [sh] }
  test:
    uses: builtin:gate
    needs: [biuld]
    timeout: soon
    with: { commands: ["sh -c true"] }
    permissions: { workspace: read, exec: [sh] }
  deploy:
    uses: builtin:nope
    needs: [test]
"#;

#[test]
fn invalid_workflow_reports_every_problem_with_location_and_exit_2() {
    let repo = TestRepo::new();
    repo.workflow(BROKEN);
    let r = repo.run(&["validate", "workflow.yaml"]);
    r.exits(2);
    insta::assert_snapshot!("validate_broken", r.stderr_normalised());

    // The same as JSON for scripts.
    let r = repo.run(&["validate", "workflow.yaml", "--json"]);
    r.exits(2);
    let doc = r.json();
    assert_eq!(doc["ok"], false);
    let fields: Vec<&str> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"stages.test.needs[0]"), "{fields:?}");
}

#[test]
fn plugin_checks_report_config_permission_and_load_problems() {
    let repo = TestRepo::new();
    repo.workflow(
        r#"name: plugin-problems
stages:
  build:
    uses: builtin:gate
    with:
      commands: ["cargo build", 7]
    permissions: { exec: [cargo] }
  extra:
    uses: ./missing.wasm
    sha256: 0000000000000000000000000000000000000000000000000000000000000000
"#,
    );
    let r = repo.run(&["validate", "workflow.yaml"]);
    r.exits(2);
    insta::assert_snapshot!("validate_plugin_problems", r.stderr_normalised());
}

#[test]
fn a_third_party_plugin_with_a_wrong_sha256_pin_is_refused() {
    let repo = TestRepo::new();
    let (path, sha) = crate::support::fixture("fixture_echo");
    let wrong = format!(
        "{}{}",
        &sha[..63],
        if sha.ends_with('0') { '1' } else { '0' }
    );
    repo.workflow(&format!(
        "name: pinned\nstages:\n  echo:\n    uses: {}\n    sha256: {wrong}\n",
        path.display()
    ));
    let r = repo.run(&["validate", "workflow.yaml"]);
    r.exits(2);
    // It points at the pin and names the actual hash.
    insta::assert_snapshot!(
        "wrong_sha256_pin",
        repo.normalise(
            &r.stderr()
                .replace(&sha, "[ACTUAL]")
                .replace(&wrong, "[PINNED]")
        )
    );
    // With the right pin it loads.
    repo.workflow(&format!(
        "name: pinned\nstages:\n  echo:\n    uses: {}\n    sha256: {sha}\n",
        path.display()
    ));
    repo.run(&["validate", "workflow.yaml"]).succeeds();
}

#[test]
fn an_incompatible_component_fails_at_validate() {
    let repo = TestRepo::new();
    let (path, sha) = crate::support::fixture("fixture_bad_world");
    repo.workflow(&format!(
        "name: bad\nstages:\n  bad:\n    uses: {}\n    sha256: {sha}\n",
        path.display()
    ));
    let r = repo.run(&["validate", "workflow.yaml"]);
    r.exits(2);
    insta::assert_snapshot!("incompatible_component", r.stderr_normalised());
}

#[test]
fn agent_stages_naming_backends_that_cannot_work_are_refused() {
    let repo = TestRepo::new();
    repo.workflow(
        r"name: backends
stages:
  triage:
    uses: builtin:triage
    with: { mode: agent, agent: { backend: clade } }
    permissions: { workspace: read, agent: true }
  execute:
    uses: builtin:agent
    needs: [triage]
    with: { backend: codex, denied_tools: [Bash] }
    permissions: { workspace: write, agent: true }
  review:
    uses: builtin:review
    needs: [execute]
    with:
      personas: [quality, { name: security, backend: codx }]
    permissions: { workspace: read, agent: true, exec: [git] }
",
    );
    // The CLIs are on PATH wherever the test runs: no warning about them.
    let clis = crate::validate_findings::fake_clis(&["claude", "codex"]);
    let r = repo
        .engine()
        .args(["validate", "workflow.yaml"])
        .path_first(clis.path())
        .run();
    r.exits(2);
    insta::assert_snapshot!("validate_agent_backends", r.stderr_normalised());

    // Every backend can run the read-only stages; only the tool lists were wrong.
    repo.workflow(
        r"name: backends
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
      personas: [quality, { name: security, backend: opencode }]
    permissions: { workspace: read, agent: true, exec: [git] }
",
    );
    repo.run(&["validate", "workflow.yaml"]).succeeds();
}
