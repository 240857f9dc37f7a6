//! Budgets that stay safe without bricking the day, spend estimated from tokens, and the merge
//! on a machine without a git identity: the real binary, real git, the scripted agent.

use crate::support::agent::ScriptedAgent;
use crate::support::{TestRepo, Workflow, uses_fixture};

/// A workflow running `builtin:agent` once (no retry) under `budget: { day_usd: 50 }` and no
/// `prices:`, the claude backend being `agent`.
fn day_budget(agent: &ScriptedAgent) -> Workflow {
    Workflow::named("budgets")
        .top("git: { keep_worktree: always }")
        .top("budget: { day_usd: 50 }")
        .agents(
            agent,
            "limits: { inactivity: 700ms, frozen_warning: 300ms, post_result_grace: 1s }",
        )
        .stage(
            "execute",
            "uses: builtin:agent\nwith: { backend: claude, completion: promise }\n\
             permissions: { workspace: write, agent: true }\nretry: { max_attempts: 1 }",
        )
}

#[test]
fn a_session_killed_before_its_result_is_estimated_and_later_runs_still_start() {
    let repo = TestRepo::new();
    // Tokens arrive with the assistant's message, then the CLI hangs: the watchdog kills it
    // before any result (and so before any USD) is reported.
    let hung = ScriptedAgent::new(
        "- - tokens: {input: 200000, output: 4000}\n  - say: working on it\n  - hang: true\n",
    );
    day_budget(&hung).write(&repo);
    let first = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Add a greeting")
        .run();
    assert_ne!(first.code(), 0, "{}", first.context());
    let spend = first.report().stage("execute").history[0].spend;
    assert!(spend.cost_known, "{spend:?}");
    assert!(spend.cost_estimated, "{spend:?}");
    assert!(spend.cost_usd > 0.0, "{spend:?}");
    assert!(spend.input_tokens > 0, "{spend:?}");
    // `engine show` says the spend was estimated from tokens.
    let show = repo.run(&["show", &first.run_id()]);
    show.succeeds();
    insta::assert_snapshot!("show_estimated_spend", show.stdout_normalised());

    // The same day, with the same budget and still no prices: the next run starts and works.
    let fine = ScriptedAgent::new(
        "- - write: {path: src/greet.txt, content: \"hello\\n\"}\n  - cost: 0.10\n  - say: \"Done. <promise>COMPLETE</promise>\"\n",
    );
    day_budget(&fine).write(&repo);
    repo.engine()
        .args(["run", "workflow.yaml"])
        .task("Add a greeting")
        .run()
        .succeeds();
    assert_eq!(fine.invocations().len(), 1);
}

#[test]
fn a_merge_lands_on_a_machine_without_a_git_identity() {
    let repo = TestRepo::new();
    Workflow::named("land")
        .top("git: { keep_worktree: always }")
        .stage(
            "work",
            &format!(
                "{}\nwith: {{ write: out.txt }}\npermissions: {{ workspace: write }}",
                uses_fixture("fixture_echo")
            ),
        )
        .stage(
            "merge",
            "uses: builtin:merge\nneeds: [work]\nwith: { strategy: squash }\n\
             permissions: { workspace: read, exec: [git] }\nretry: { max_attempts: 1 }",
        )
        .write(&repo);
    let home = tempfile::tempdir().unwrap();
    let identity = [
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "EMAIL",
        "GIT_CONFIG_GLOBAL",
    ];
    // The premise: git has no identity in this environment.
    let mut ident = std::process::Command::new("git");
    ident
        .args(["var", "GIT_COMMITTER_IDENT"])
        .current_dir(repo.path())
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .env("GIT_CONFIG_NOSYSTEM", "1");
    for name in identity {
        ident.env_remove(name);
    }
    let ident = ident.output().unwrap();
    assert!(!ident.status.success(), "git has an identity here");

    let mut engine = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Land it")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .env("GIT_CONFIG_NOSYSTEM", "1");
    for name in identity {
        engine = engine.env_remove(name);
    }
    engine.run().succeeds();
    assert_eq!(
        repo.git(&["log", "-1", "--format=%an <%ae>|%cn <%ce>", "main"])
            .trim(),
        "engine <engine@localhost>|engine <engine@localhost>"
    );
    assert!(repo.git(&["show", "--stat", "main"]).contains("out.txt"));
}
