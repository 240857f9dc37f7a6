//! Budgets that stay safe without bricking the day, spend estimated from tokens, and the merge
//! on a machine without a git identity: the real binary, real git, the scripted agent.

mod support;

use support::agent::ScriptedAgent;
use support::{TestRepo, fixture_uses};

/// A workflow running `builtin:agent` once (no retry) under `budget: { day_usd: 50 }` and no
/// `prices:`, the claude backend being `agent`.
fn day_budget_workflow(repo: &TestRepo, agent: &ScriptedAgent) -> std::path::PathBuf {
    repo.workflow(&format!(
        r#"name: budgets
git: {{ keep_worktree: always }}
budget: {{ day_usd: 50 }}
agents:
{backends}  limits: {{ inactivity: 700ms, frozen_warning: 300ms, post_result_grace: 1s }}
stages:
  execute:
    uses: builtin:agent
    with: {{ backend: claude, completion: promise }}
    permissions: {{ workspace: write, agent: true }}
    retry: {{ max_attempts: 1 }}
"#,
        backends = agent.backends_yaml(),
    ))
}

#[test]
fn a_session_killed_before_its_result_is_estimated_and_later_runs_still_start() {
    let repo = TestRepo::new();
    // Tokens arrive with the assistant's message, then the CLI hangs: the watchdog kills it
    // before any result (and so before any USD) is reported.
    let hung = ScriptedAgent::new(
        "- - tokens: {input: 200000, output: 4000}\n  - say: working on it\n  - hang: true\n",
    );
    let wf = day_budget_workflow(&repo, &hung);
    let first = repo.run(&["run", wf.to_str().unwrap(), "--task", "Add a greeting"]);
    assert_ne!(first.code(), 0, "{}", first.stderr());
    let show = repo.show(&first.run_id());
    let attempt = &show["state"]["stages"]["execute"]["history"][0];
    let spend = &attempt["spend"];
    assert_eq!(spend["cost_known"], true, "{spend}");
    assert_eq!(spend["cost_estimated"], true, "{spend}");
    assert!(spend["cost_usd"].as_f64().unwrap() > 0.0, "{spend}");
    assert!(spend["input_tokens"].as_u64().unwrap() > 0, "{spend}");
    let text = repo.run(&["show", &first.run_id()]);
    assert!(
        text.stdout().contains("estimated from tokens"),
        "{}",
        text.stdout()
    );

    // The same day, with the same budget and still no prices: the next run starts and works.
    let fine = ScriptedAgent::new(
        "- - write: {path: src/greet.txt, content: \"hello\\n\"}\n  - cost: 0.10\n  - say: \"Done. <promise>COMPLETE</promise>\"\n",
    );
    let wf = day_budget_workflow(&repo, &fine);
    let second = repo.run(&["run", wf.to_str().unwrap(), "--task", "Add a greeting"]);
    assert_eq!(second.code(), 0, "{}", second.stderr());
    assert_eq!(fine.invocations().len(), 1);
}

#[test]
fn a_merge_lands_on_a_machine_without_a_git_identity() {
    let repo = TestRepo::new();
    let wf = repo.workflow(&format!(
        r#"name: land
git: {{ keep_worktree: always }}
stages:
  work:
    {echo}
    with: {{ write: out.txt }}
    permissions: {{ workspace: write }}
  merge:
    uses: builtin:merge
    needs: [work]
    with: {{ strategy: squash }}
    permissions: {{ workspace: read, exec: [git] }}
    retry: {{ max_attempts: 1 }}
"#,
        echo = fixture_uses("fixture_echo"),
    ));
    let home = tempfile::tempdir().unwrap();
    let mut engine = repo.engine();
    for name in [
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "EMAIL",
        "GIT_CONFIG_GLOBAL",
    ] {
        engine.env_remove(name);
    }
    engine
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .env("GIT_CONFIG_NOSYSTEM", "1");
    // The premise: git has no identity in this environment.
    let ident = std::process::Command::new("git")
        .args(["var", "GIT_COMMITTER_IDENT"])
        .current_dir(repo.path())
        .envs(engine.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .env_remove("GIT_COMMITTER_NAME")
        .env_remove("GIT_COMMITTER_EMAIL")
        .env_remove("EMAIL")
        .env_remove("GIT_CONFIG_GLOBAL")
        .output()
        .unwrap();
    assert!(!ident.status.success(), "git has an identity here");
    let out = engine
        .args(["run", wf.to_str().unwrap(), "--task", "Land it"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        repo.git(&["log", "-1", "--format=%an <%ae>|%cn <%ce>", "main"])
            .trim(),
        "engine <engine@localhost>|engine <engine@localhost>"
    );
    assert!(repo.git(&["show", "--stat", "main"]).contains("out.txt"));
}
