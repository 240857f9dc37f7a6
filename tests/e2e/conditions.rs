//! End-to-end: `if:` conditions (true, false, invalid), templated `with:`, secrets that never
//! reach the store, logs or output, and `finally:` stages that never change a run's outcome.

use crate::support::agent::ScriptedAgent;
use crate::support::repo::{files_under, holds};
use crate::support::{TestRepo, Workflow};

#[test]
fn false_conditions_skip_stages_and_true_ones_run_them() {
    let repo = TestRepo::new();
    repo.workflow(
        r#"
name: conditions
env: { MODE: code }
stages:
  build:
    uses: builtin:gate
    with: { commands: ["sh -c 'echo build'"] }
    permissions: { workspace: read, exec: [sh] }
  docs:
    uses: builtin:gate
    needs: [build]
    if: "env.MODE == 'docs'"
    with: { commands: ["sh -c 'exit 1'"] }
    permissions: { workspace: read, exec: [sh] }
  check:
    uses: builtin:gate
    needs: [build]
    if: "stages.build.result == 'succeeded' && size(stages.build.outputs.commands) == 1"
    with: { commands: [["test", "{{ env.MODE }}", "=", "code"]] }
    permissions: { workspace: read, exec: [test] }
  after:
    uses: builtin:gate
    needs: [docs, check]
    with: { commands: ["sh -c 'echo after'"] }
    permissions: { workspace: read, exec: [sh] }
"#,
    );
    let run = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Conditions")
        .run();
    run.succeeds();
    // The skip is told (while `check` runs, so its place among the lines varies), and the
    // summary at the end lists every stage.
    run.stderr_has("⤼ docs skipped: `if: env.MODE == 'docs'` is false");
    insta::assert_snapshot!("skipped_and_run_summary", run.stderr_from("summary:"));
    let report = run.report();
    let outcomes = report.outcomes();
    assert_eq!(outcomes["docs"], ["skipped"]);
    assert_eq!(outcomes["check"], ["succeeded"]);
    assert_eq!(outcomes["after"], ["succeeded"]);
    assert_eq!(report.stage("docs").phase(), "skipped");
}

#[test]
fn a_condition_that_cannot_be_evaluated_fails_the_stage_and_a_malformed_one_the_validation() {
    let repo = TestRepo::new();
    repo.workflow(
        r#"
name: conditions
stages:
  build:
    uses: builtin:gate
    with: { commands: ["sh -c 'echo build'"] }
    permissions: { workspace: read, exec: [sh] }
  check:
    uses: builtin:gate
    needs: [build]
    if: "stages.build.outputs.nope == 'x'"
    with: { commands: ["sh -c 'echo check'"] }
    permissions: { workspace: read, exec: [sh] }
"#,
    );
    let run = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Missing key")
        .run();
    run.exits(1);
    let report = run.report();
    let check = report.stage("check");
    assert_eq!(check.outcomes(), ["failed"]);
    insta::assert_snapshot!("condition_on_a_missing_key", check.failure().message);

    repo.workflow(
        r#"
name: conditions
stages:
  build:
    uses: builtin:gate
    if: "task.title =="
    with: { commands: ["true"] }
    permissions: { workspace: read, exec: [true] }
"#,
    );
    let run = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Bad")
        .run();
    run.exits(2);
    insta::assert_snapshot!("malformed_condition", run.stderr_normalised());
}

#[test]
fn a_secret_reaches_its_stage_but_never_the_store_logs_or_output() {
    let repo = TestRepo::new();
    let secret = "tok-7f3a9c1e55d2";
    repo.workflow(
        r#"
name: secrets
stages:
  leak:
    uses: builtin:gate
    secrets: [DEMO_TOKEN]
    with:
      commands:
        - ["sh", "-c", "echo using $0; test ${#0} -eq 16 && exit 3", "{{ secrets.DEMO_TOKEN }}"]
    permissions: { workspace: read, exec: [sh] }
"#,
    );
    let run = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Secrets")
        .env("DEMO_TOKEN", secret)
        .run();
    // Exit 3 proves the stage got the real value; the run fails, and says so redacted.
    run.exits(1).never_prints(secret);
    insta::assert_snapshot!("secret_redacted", run.stderr_normalised());

    // Nothing under the state directory holds it: store, event log, attempt logs.
    let files = files_under(&repo.path().join(".engine"));
    for (path, bytes) in &files {
        assert!(!holds(bytes, secret), "the secret is in {}", path.display());
    }
    assert!(files.len() > 3, "checked only {} files", files.len());
    let show = repo.run(&["show", &run.run_id(), "--json"]);
    show.succeeds().never_prints(secret);

    // Without the variable the stage fails and says which secret is missing.
    let run = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("No secret")
        .run();
    run.exits(1);
    insta::assert_snapshot!(
        "secret_missing",
        run.report().stage("leak").failure().message
    );
}

#[test]
fn finally_stages_run_by_condition_and_never_change_the_outcome() {
    let repo = TestRepo::new();
    let workflow = |fail: bool| {
        format!(
            r#"
name: finally
stages:
  work:
    uses: builtin:gate
    with: {{ commands: ["sh -c 'exit {}'"] }}
    permissions: {{ workspace: read, exec: [sh] }}
    retry: {{ max_attempts: 1 }}
finally:
  on_failure:
    uses: builtin:gate
    if: "failure()"
    with: {{ commands: ["sh -c 'echo failed run {{{{ run.status }}}}'"] }}
    permissions: {{ workspace: read, exec: [sh] }}
  broken_notifier:
    uses: builtin:gate
    with: {{ commands: ["sh -c 'exit 9'"] }}
    permissions: {{ workspace: read, exec: [sh] }}
    retry: {{ max_attempts: 1 }}
"#,
            u8::from(fail)
        )
    };
    repo.workflow(&workflow(false));
    let run = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Works")
        .run();
    // The broken notifier fails, the run still succeeded.
    run.succeeds();
    let report = run.report();
    assert_eq!(report.finally("on_failure").outcome, "skipped");
    assert_eq!(report.finally("broken_notifier").outcome, "failed");
    assert_eq!(report.status(), "succeeded");

    repo.workflow(&workflow(true));
    let run = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Breaks")
        .run();
    run.exits(1);
    let report = run.report();
    assert_eq!(report.finally("on_failure").outcome, "succeeded");
    assert_eq!(report.status(), "failed");
}

#[test]
fn an_agent_secret_echoed_by_the_agent_never_reaches_its_transcript() {
    let repo = TestRepo::new();
    let secret = "sk-demo-4e1b7a90c2";
    // The agent prints its environment's key (a tool call) and repeats it in its answer.
    let agent = ScriptedAgent::new(
        r#"
- - run: "echo key=$DEMO_API_KEY"
  - say: "I was given sk-demo-4e1b7a90c2. <promise>COMPLETE</promise>"
"#,
    );
    Workflow::named("agent-secret")
        .agents(&agent, "secrets: [DEMO_API_KEY]")
        .stage(
            "execute",
            "uses: builtin:agent\nwith: { backend: claude, completion: promise }\n\
             permissions: { workspace: write, agent: true }",
        )
        .write(&repo);
    repo.engine()
        .args(["run", "workflow.yaml"])
        .task("Use the key")
        .env("DEMO_API_KEY", secret)
        .run()
        .succeeds()
        .never_prints(secret);
    // The agent really had the key (its own log is outside the state directory).
    let given = agent.invocations()[0]["env_names"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n == "DEMO_API_KEY");
    assert!(given);
    let mut transcripts = 0;
    for (path, bytes) in files_under(&repo.path().join(".engine")) {
        assert!(
            !holds(&bytes, secret),
            "the secret is in {}",
            path.display()
        );
        if path.to_string_lossy().contains("transcripts") {
            let text = String::from_utf8_lossy(&bytes);
            assert!(text.contains("[redacted]"), "{text}");
            transcripts += 1;
        }
    }
    assert_eq!(transcripts, 1);
}
