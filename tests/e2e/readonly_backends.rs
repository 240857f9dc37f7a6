//! Read-only sessions (review personas, agent-mode triage) on every backend, end to end: the
//! real binary and a real git repository. Claude and Codex are played by the scripted agent;
//! aider, whose CLI cannot keep a session read-only, by a shell script that ignores read-only
//! and writes in its working directory: the host runs it in a throw-away copy of the worktree,
//! so the run's worktree never sees what it wrote.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::agent::ScriptedAgent;
use crate::support::{TestRepo, Workflow};

const APPROVE: &str = r#"{"verdict": "approve", "summary": "Fine.", "findings": []}"#;

/// A stand-in for aider: logs what it sees to `log`, then behaves badly in its working
/// directory (writes, overwrites, deletes, leaves a link to `outside`), then prints `reply`.
fn hostile_aider(dir: &Path, log: &Path, outside: &Path, reply: &str) -> PathBuf {
    let script = dir.join("fake-aider.sh");
    let reply_lines = reply.lines().fold(String::new(), |mut out, l| {
        let _ = writeln!(out, "printf '%s\\n' '{}'", l.replace('\'', "'\\''"));
        out
    });
    std::fs::write(
        &script,
        format!(
            r#"# $1 $2: --message-file FILE (aider's argv); the prompt names the base commit.
log={log}
base=$(grep -o 'git diff [0-9a-f]*\.\.\.HEAD' "$2" | head -n 1 | cut -d' ' -f3)
{{
  echo "pwd=$(pwd)"
  echo "args=$*"
  echo "greet=$(cat src/greet.txt 2>/dev/null)"
  echo "diff=$(git diff --name-only "$base" 2>&1 | tr '\n' ' ')"
}} >> "$log"
echo hacked > hacked.txt
echo tampered > src/greet.txt
rm -f README.md
ln -s {outside} escape
{reply_lines}"#,
            log = log.display(),
            outside = outside.display(),
        ),
    )
    .unwrap();
    script
}

/// A workflow with the scripted agent and the fake `aider` as backends; the fake may write
/// its log next to its script (its sandbox grants it).
fn with_aider(name: &str, agent: &ScriptedAgent, aider: &Path) -> Workflow {
    Workflow::named(name)
        .top("git: { keep_worktree: always }")
        .agents(
            agent,
            &format!(
                "  aider: {{ command: [sh, {}], write: [{}] }}\nlimits: {{ post_result_grace: 1s }}",
                aider.display(),
                aider.parent().unwrap().display()
            ),
        )
}

/// Every copy made for the run was removed.
#[track_caller]
fn assert_no_copies_left(repo: &TestRepo, run_id: &str) {
    let readonly = repo
        .path()
        .join(".engine/runs")
        .join(run_id)
        .join("readonly");
    for instance in std::fs::read_dir(&readonly).into_iter().flatten().flatten() {
        let left: Vec<_> = std::fs::read_dir(instance.path())
            .unwrap()
            .flatten()
            .collect();
        assert!(left.is_empty(), "copies left: {left:?}");
    }
}

#[test]
fn a_review_on_aider_runs_in_a_throw_away_copy_and_passes() {
    let repo = TestRepo::new();
    let tmp = tempfile::tempdir().unwrap();
    let (log, outside) = (tmp.path().join("aider.log"), tmp.path().join("outside"));
    std::fs::create_dir(&outside).unwrap();
    let aider = hostile_aider(
        tmp.path(),
        &log,
        &outside,
        &format!("Looks fine.\n```json\n{APPROVE}\n```"),
    );
    let agent = ScriptedAgent::new(
        "- - say: \"Done. <promise>COMPLETE</promise>\"\n  - write: {path: src/greet.txt, content: \"hi\\n\"}\n",
    );
    with_aider("review-aider", &agent, &aider)
        .stage(
            "execute",
            "uses: builtin:agent\nwith: { backend: claude, completion: promise }\n\
             permissions: { workspace: write, agent: true }",
        )
        .stage(
            "review",
            "uses: builtin:review\nneeds: [execute]\nwith: { backend: aider, personas: [quality, security] }\n\
             permissions: { workspace: read, agent: true, exec: [git] }",
        )
        .write(&repo);
    repo.run(&["validate", "workflow.yaml"]).succeeds();
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Greet")
        .run();
    let report = r.report();
    r.succeeds();
    assert_eq!(report.stage("review").outcomes(), ["succeeded"]);

    // Each persona read the change and the history in its copy...
    let seen = std::fs::read_to_string(&log).unwrap();
    let copies = repo
        .path()
        .join(".engine/runs")
        .join(r.run_id())
        .join("readonly");
    assert_eq!(seen.matches("greet=hi").count(), 2, "{seen}");
    assert_eq!(seen.matches("diff=src/greet.txt").count(), 2, "{seen}");
    assert_eq!(
        seen.matches(&format!("pwd={}", copies.display())).count(),
        2,
        "{seen}"
    );
    assert!(seen.contains("--dry-run"), "{seen}");
    // ...and what it did there never reached the run's worktree.
    let wt = report.worktree();
    assert_eq!(
        std::fs::read_to_string(wt.join("src/greet.txt")).unwrap(),
        "hi\n"
    );
    assert!(wt.join("README.md").exists());
    assert!(!wt.join("hacked.txt").exists());
    assert!(std::fs::symlink_metadata(wt.join("escape")).is_err());
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    assert_no_copies_left(&repo, &r.run_id());
}

#[test]
fn agent_mode_triage_on_aider_cannot_change_the_worktree() {
    let repo = TestRepo::new();
    let tmp = tempfile::tempdir().unwrap();
    let (log, outside) = (tmp.path().join("aider.log"), tmp.path().join("outside"));
    std::fs::create_dir(&outside).unwrap();
    let aider = hostile_aider(
        tmp.path(),
        &log,
        &outside,
        "```json\n{\"decision\": \"run\", \"tier\": \"primitive\", \"reason\": \"one file\"}\n```",
    );
    let agent = ScriptedAgent::new("- - say: \"Done.\"\n");
    with_aider("triage-aider", &agent, &aider)
        .stage(
            "triage",
            "uses: builtin:triage\nwith: { mode: agent, agent: { backend: aider } }\n\
             permissions: { workspace: read, agent: true }",
        )
        .write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Fix the typo in README.md")
        .run();
    let report = r.report();
    r.succeeds();
    assert_eq!(
        report.stage("triage").outputs["tier"],
        "primitive",
        "{:#}",
        report.raw
    );
    let seen = std::fs::read_to_string(&log).unwrap();
    assert_eq!(seen.matches("pwd=").count(), 1, "{seen}");
    let wt = report.worktree();
    assert_eq!(
        std::fs::read_to_string(wt.join("README.md")).unwrap(),
        "# demo\n"
    );
    assert!(!wt.join("hacked.txt").exists());
    assert!(!wt.join("src/greet.txt").exists());
    assert_no_copies_left(&repo, &r.run_id());
}

#[test]
fn a_review_on_codex_sends_no_tool_lists_and_passes() {
    let repo = TestRepo::new();
    let script = format!(
        "- - say: \"Done. <promise>COMPLETE</promise>\"\n  - write: {{path: src/greet.txt, content: \"hi\\n\"}}\n\
         - match: \"^You are the `quality` reviewer\"\n  steps:\n    - say: {}\n",
        serde_json::to_string(&format!("```json\n{APPROVE}\n```")).unwrap()
    );
    let agent = ScriptedAgent::new(&script);
    Workflow::named("review-codex")
        .agents(&agent, "limits: { post_result_grace: 1s }")
        .stage(
            "execute",
            "uses: builtin:agent\nwith: { backend: claude, completion: promise }\n\
             permissions: { workspace: write, agent: true }",
        )
        .stage(
            "review",
            "uses: builtin:review\nneeds: [execute]\nwith: { personas: [{ name: quality, backend: codex }] }\n\
             permissions: { workspace: read, agent: true, exec: [git] }",
        )
        .write(&repo);
    repo.engine()
        .args(["run", "workflow.yaml"])
        .task("Greet")
        .run()
        .succeeds();
    let calls: Vec<Value> = agent
        .invocations()
        .into_iter()
        .filter(|c| c["as"] == "codex")
        .collect();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let argv = calls[0]["argv"].to_string();
    assert!(argv.contains("read-only"), "{argv}");
    for claude_tool in ["Read", "Grep", "Bash", "WebFetch"] {
        assert!(!argv.contains(&format!("\"{claude_tool}")), "{argv}");
    }
}

#[test]
fn the_workflow_engine_init_writes_for_codex_runs_its_review_on_codex() {
    let repo = TestRepo::new();
    repo.run(&["init", "--backend", "codex", "--test", "git --version"])
        .succeeds();
    let approve = serde_json::to_string(&format!("```json\n{APPROVE}\n```")).unwrap();
    let personas = ["quality", "security", "tests"]
        .iter()
        .fold(String::new(), |mut out, p| {
            let _ = writeln!(
                out,
                "- match: \"^You are the `{p}` reviewer\"\n  steps:\n    - say: {approve}"
            );
            out
        });
    let agent = ScriptedAgent::new(&format!(
        "- - write: {{path: src/greet.txt, content: \"hi\\n\"}}\n  - say: \"Done. <promise>COMPLETE</promise>\"\n{personas}"
    ));
    let text = repo.read("workflows/engine.yaml");
    let text = text.replacen(
        "agents:\n",
        &format!("agents:\n{}", agent.backends_yaml()),
        1,
    );
    repo.write("workflows/engine.yaml", &text);
    let r = repo
        .engine()
        .args(["run", "workflows/engine.yaml"])
        .task("Add src/greet.txt holding a greeting")
        .run();
    let o = r.report().outcomes();
    assert_eq!(o["review"], ["succeeded"], "{o:?}\n{}", r.context());
    r.succeeds();
    let reviews: Vec<Value> = agent
        .invocations()
        .into_iter()
        .filter(|c| {
            c["prompt"]
                .as_str()
                .unwrap_or_default()
                .starts_with("You are the `")
        })
        .collect();
    assert_eq!(reviews.len(), 3, "{reviews:#?}");
    assert!(reviews.iter().all(|c| c["as"] == "codex"), "{reviews:#?}");
}
