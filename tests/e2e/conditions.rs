//! End-to-end: `if:` conditions (true, false, invalid), templated `with:`, secrets that never
//! reach the store, logs or output, and `finally:` stages that never change a run's outcome.

mod support;

use support::{TestRepo, outcomes};

#[test]
fn false_conditions_skip_stages_and_true_ones_run_them() {
    let repo = TestRepo::new();
    let wf = repo.workflow(
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
    let run = repo.run(&["run", wf.to_str().unwrap(), "--task", "Conditions"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(run.stderr().contains("⤼ docs skipped"), "{}", run.stderr());
    let show = repo.show(&run.run_id());
    let outcomes = outcomes(&show);
    assert_eq!(outcomes["docs"], vec!["skipped"]);
    assert_eq!(outcomes["check"], vec!["succeeded"]);
    assert_eq!(outcomes["after"], vec!["succeeded"]);
    assert_eq!(show["state"]["stages"]["docs"]["phase"]["phase"], "skipped");
    // The summary at the end lists every stage.
    assert!(run.stderr().contains("summary: run"), "{}", run.stderr());
}

#[test]
fn a_condition_that_cannot_be_evaluated_fails_the_stage_and_a_malformed_one_the_validation() {
    let repo = TestRepo::new();
    let wf = repo.workflow(
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
    let run = repo.run(&["run", wf.to_str().unwrap(), "--task", "Missing key"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(run.stderr().contains("nope"), "{}", run.stderr());
    let show = repo.show(&run.run_id());
    assert_eq!(outcomes(&show)["check"], vec!["failed"]);

    let bad = repo.workflow(
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
    let run = repo.run(&["run", bad.to_str().unwrap(), "--task", "Bad"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(
        run.stderr().contains("workflow.yaml:6:"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_secret_reaches_its_stage_but_never_the_store_logs_or_output() {
    let repo = TestRepo::new();
    let secret = "tok-7f3a9c1e55d2";
    let wf = repo.workflow(
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
    let output = repo
        .engine()
        .args(["run", wf.to_str().unwrap(), "--task", "Secrets"])
        .env("DEMO_TOKEN", secret)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Exit 3 proves the stage got the real value; the run fails.
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("(exit 3)"), "{stderr}");
    assert!(!stderr.contains(secret), "{stderr}");
    assert!(stderr.contains("[redacted]"), "{stderr}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains(secret));

    // Nothing under the state directory holds it: store, event log, attempt logs.
    let mut files = vec![repo.path().join(".engine")];
    let mut checked = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "the secret is in {}", path.display());
            checked += 1;
        }
    }
    assert!(checked > 3, "checked only {checked} files");
    let run_id = String::from_utf8_lossy(&output.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    let show = repo.run(&["show", &run_id, "--json"]);
    assert!(!show.stdout().contains(secret));

    // Without the variable the stage fails and says which secret is missing.
    let run = repo.run(&["run", wf.to_str().unwrap(), "--task", "No secret"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(run.stderr().contains("DEMO_TOKEN"), "{}", run.stderr());
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
    let wf = repo.workflow(&workflow(false));
    let run = repo.run(&["run", wf.to_str().unwrap(), "--task", "Works"]);
    // The broken notifier fails, the run still succeeded.
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let show = repo.show(&run.run_id());
    let finally = &show["state"]["finally"];
    assert_eq!(
        finally["on_failure"]["outcome"]["outcome"], "skipped",
        "{finally}"
    );
    assert_eq!(finally["broken_notifier"]["outcome"]["outcome"], "failed");
    assert_eq!(show["state"]["status"]["status"], "succeeded");

    let wf = repo.workflow(&workflow(true));
    let run = repo.run(&["run", wf.to_str().unwrap(), "--task", "Breaks"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let show = repo.show(&run.run_id());
    let finally = &show["state"]["finally"];
    assert_eq!(
        finally["on_failure"]["outcome"]["outcome"], "succeeded",
        "{finally}"
    );
    assert_eq!(show["state"]["status"]["status"], "failed");
}

#[test]
fn an_agent_secret_echoed_by_the_agent_never_reaches_its_transcript() {
    use support::agent::ScriptedAgent;
    let repo = TestRepo::new();
    let secret = "sk-demo-4e1b7a90c2";
    // The agent prints its environment's key (a tool call) and repeats it in its answer.
    let agent = ScriptedAgent::new(
        r#"
- - run: "echo key=$DEMO_API_KEY"
  - say: "I was given sk-demo-4e1b7a90c2. <promise>COMPLETE</promise>"
"#,
    );
    let wf = repo.workflow(&format!(
        r#"name: agent-secret
agents:
  secrets: [DEMO_API_KEY]
{backends}stages:
  execute:
    uses: builtin:agent
    with: {{ backend: claude, completion: promise }}
    permissions: {{ workspace: write, agent: true }}
"#,
        backends = agent.backends_yaml(),
    ));
    let output = repo
        .engine()
        .args(["run", wf.to_str().unwrap(), "--task", "Use the key"])
        .env("DEMO_API_KEY", secret)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains(secret), "{stderr}");
    // The agent really had the key (its own log is outside the state directory).
    let echoed = agent.invocations()[0]["env_names"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n == "DEMO_API_KEY");
    assert!(echoed);
    let mut files = vec![repo.path().join(".engine")];
    let mut transcripts = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "the secret is in {}", path.display());
            if path.to_string_lossy().contains("transcripts") {
                let text = String::from_utf8_lossy(&bytes);
                assert!(text.contains("[redacted]"), "{text}");
                transcripts += 1;
            }
        }
    }
    assert_eq!(transcripts, 1);
}
