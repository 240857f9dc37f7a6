//! `builtin:review` end to end: the real binary, a real git repository, and the scripted agent
//! playing both the execute agent (sessions in order) and the reviewer personas (sessions
//! chosen by `match` on the persona's prompt, since the personas start in parallel).

use serde_json::Value;

use crate::support::agent::ScriptedAgent;
use crate::support::{TestRepo, Workflow};

/// A workflow with `execute` (builtin:agent) and `review` (builtin:review with `review_with`
/// and `review_extra` stage keys, unindented), both on the scripted agent.
fn reviewed(agent: &ScriptedAgent, review_with: &str, review_extra: &str) -> Workflow {
    Workflow::named("review")
        .top("git: { keep_worktree: always }")
        .top("models: { genius: model-genius, smart: model-smart }")
        .agents(agent, "limits: { post_result_grace: 1s }")
        .stage(
            "execute",
            "uses: builtin:agent\nwith: { backend: claude, completion: promise }\n\
             permissions: { workspace: write, agent: true }",
        )
        .stage(
            "review",
            &format!(
                "uses: builtin:review\nneeds: [execute]\nwith: {review_with}\n\
                 permissions: {{ workspace: read, agent: true, exec: [git] }}\n{review_extra}"
            ),
        )
}

/// A scripted session (YAML) chosen by the persona's prompt, saying `reply`.
fn persona_session(persona: &str, reply: &str) -> String {
    // A JSON string is a valid YAML double-quoted scalar: newlines survive.
    format!(
        "- match: \"^You are the `{persona}` reviewer\"\n  steps:\n    - say: {}\n",
        serde_json::to_string(reply).unwrap()
    )
}

/// Invocations of the persona's sessions.
fn persona_calls(agent: &ScriptedAgent, persona: &str) -> Vec<Value> {
    let head = format!("You are the `{persona}` reviewer");
    agent
        .invocations()
        .into_iter()
        .filter(|c| c["prompt"].as_str().unwrap_or_default().starts_with(&head))
        .collect()
}

/// Invocations of the execute agent (prompts that are not a reviewer's).
fn execute_calls(agent: &ScriptedAgent) -> Vec<Value> {
    agent
        .invocations()
        .into_iter()
        .filter(|c| {
            !c["prompt"]
                .as_str()
                .unwrap_or_default()
                .starts_with("You are the `")
        })
        .collect()
}

const APPROVE: &str = r#"{"verdict": "approve", "summary": "Fine.", "findings": []}"#;

#[test]
fn findings_send_the_run_back_to_execute_and_the_fixed_change_is_approved() {
    let repo = TestRepo::new();
    let script = [
        "- - say: \"Wrote the greeting. <promise>COMPLETE</promise>\"\n  - write: {path: src/greet.txt, content: \"hi\\n\"}\n".to_string(),
        persona_session(
            "quality",
            r#"{"verdict": "request_changes", "summary": "The greeting is too terse.", "findings": [{"file": "src/greet.txt", "line": 1, "severity": "high", "message": "Say hello, world instead of hi"}, {"file": "src/greet.txt", "severity": "low", "message": "End with an exclamation mark"}]}"#,
        ),
        persona_session("quality", r#"{"verdict": "approve", "summary": "Good now.", "findings": [{"file": "src/greet.txt", "line": 1, "severity": "info", "message": "Nice"}]}"#),
        persona_session("security", &format!("Nothing to worry about.\n```json\n{APPROVE}\n```")),
        "- - say: \"Fixed per the review. <promise>COMPLETE</promise>\"\n  - write: {path: src/greet.txt, content: \"hello, world\\n\"}\n".to_string(),
    ]
    .concat();
    let agent = ScriptedAgent::new(&script);
    reviewed(
        &agent,
        "{ personas: [quality, security] }",
        "on_failure: { goto: execute, max_loops: 2 }",
    )
    .write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Greet the world")
        .run();
    r.succeeds();
    let report = r.report();
    let o = report.outcomes();
    assert_eq!(o["execute"], ["succeeded", "succeeded"], "{o:?}");
    assert_eq!(o["review"], ["failed", "succeeded"], "{o:?}");

    // The rejection: fatal (so the run went back at once), summarising who asked for what.
    let review = report.stage("review");
    let rejected = review.failure_of(0);
    assert_eq!(rejected.kind, "fatal", "{rejected:?}");
    insta::assert_snapshot!("changes_requested", repo.normalise(&rejected.message));
    assert_eq!(rejected.detail["personas"][0]["verdict"], "request_changes");
    assert_eq!(rejected.detail["personas"][1]["verdict"], "approve");

    // The execute agent's second prompt carries the findings, readable (the text, not raw
    // JSON).
    let execute = execute_calls(&agent);
    assert_eq!(execute.len(), 2);
    let second = execute[1]["prompt"].as_str().unwrap();
    insta::assert_snapshot!("prompt_with_the_findings", repo.normalise(second));

    // Each persona ran twice, read-only, and saw the change of its round.
    let quality = persona_calls(&agent, "quality");
    let security = persona_calls(&agent, "security");
    assert_eq!((quality.len(), security.len()), (2, 2));
    for call in quality.iter().chain(&security) {
        assert_eq!(call["flags"]["--permission-mode"], "plan", "{call}");
        let denied = call["flags"]["--disallowedTools"].to_string();
        for tool in ["Edit", "Write", "Bash"] {
            assert!(denied.contains(tool), "{tool} not denied: {denied}");
        }
        assert_eq!(call["model"], "model-smart");
        assert!(call["resume"].is_null());
    }
    assert!(quality[0]["prompt"].as_str().unwrap().contains("+hi"));
    assert!(
        quality[1]["prompt"]
            .as_str()
            .unwrap()
            .contains("+hello, world")
    );

    // Success outputs: per-persona verdicts, every finding, approvals, a summary.
    let out = &review.outputs;
    assert_eq!(out["approvals"], 2, "{out}");
    assert_eq!(out["verdicts"][0]["persona"], "quality");
    assert_eq!(out["verdicts"][0]["verdict"], "approve");
    assert_eq!(out["findings"][0]["message"], "Nice", "{out}");
    assert_eq!(out["findings"][0]["blocking"], false);
    assert!(
        out["summary"]
            .as_str()
            .unwrap()
            .starts_with("approved by quality, security")
    );
    assert_eq!(report.status(), "succeeded");
}

#[test]
fn personas_review_every_commit_of_the_run_against_its_base() {
    let repo = TestRepo::new();
    let base = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    // The agent commits one file itself; the engine commits the other after the stage: the
    // branch ends up two commits ahead of its base.
    let script = [
        r#"- - run: "echo one > first.txt && git add first.txt && git -c user.name=a -c user.email=a@example.com commit -qm first"
  - write: {path: second.txt, content: "two\n"}
  - say: "Done. <promise>COMPLETE</promise>"
"#
        .to_string(),
        persona_session("quality", APPROVE),
    ]
    .concat();
    let agent = ScriptedAgent::new(&script);
    reviewed(&agent, "{ personas: [quality] }", "").write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Add two files")
        .run();
    r.succeeds();
    let worktree = r.report().worktree();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(&worktree)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(
        git(&["rev-list", "--count", &format!("{base}..HEAD")]).trim(),
        "2",
        "two commits on the branch"
    );
    assert_eq!(
        git(&["diff", "--name-only", "HEAD~1"]).trim(),
        "second.txt",
        "HEAD~1 alone would miss first.txt"
    );
    let prompt = persona_calls(&agent, "quality")[0]["prompt"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        prompt.contains("diff --git a/first.txt b/first.txt"),
        "{prompt}"
    );
    assert!(
        prompt.contains("diff --git a/second.txt b/second.txt"),
        "{prompt}"
    );
    assert!(
        prompt.contains(&format!("{}...HEAD", &base[..12])),
        "{prompt}"
    );
    assert!(prompt.contains("Add two files"), "{prompt}");
}

#[test]
fn an_unreadable_verdict_is_asked_again_then_fails_the_stage_and_never_passes() {
    let repo = TestRepo::new();
    let script = [
        "- - say: \"Done. <promise>COMPLETE</promise>\"\n  - write: {path: a.txt, content: \"a\\n\"}\n".to_string(),
        persona_session("quality", "Looks fine to me, ship it."),
    ]
    .concat();
    let agent = ScriptedAgent::new(&script);
    reviewed(
        &agent,
        "{ personas: [quality] }",
        "retry: { max_attempts: 2, initial_interval: 10ms }",
    )
    .write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Add a file")
        .run();
    assert_ne!(r.code(), 0, "a review without a verdict must not pass");
    let report = r.report();
    assert_eq!(report.status(), "failed", "{:#}", report.raw);
    let review = report.stage("review");
    assert_eq!(
        review.outcomes(),
        ["failed", "failed"],
        "retried under the retry policy"
    );
    let failure = review.failure_of(1);
    assert_eq!(failure.kind, "retryable", "{failure:?}");
    // No verdict from quality, even when asked again.
    insta::assert_snapshot!("no_verdict", repo.normalise(&failure.message));
    // The user is told why.
    r.stderr_has("no verdict from quality");
    // Each attempt asked once and then resumed the same session for JSON only.
    let calls = persona_calls(&agent, "quality");
    assert_eq!(calls.len(), 4, "{calls:?}");
    for pair in calls.chunks(2) {
        assert!(pair[0]["resume"].is_null());
        assert_eq!(pair[1]["resume"], pair[0]["session_id"], "{pair:?}");
        assert!(
            pair[1]["prompt"]
                .as_str()
                .unwrap()
                .contains("could not be read")
        );
    }
}

#[test]
fn a_majority_passes_over_one_request_for_changes_and_custom_personas_come_from_the_repo() {
    let repo = TestRepo::new();
    repo.write(
        ".github/review/api.md",
        "Check that public names follow the API-NAMING-GUIDE.\n",
    );
    repo.commit_all("review prompt");
    let script = [
        "- - say: \"Done. <promise>COMPLETE</promise>\"\n  - write: {path: api.txt, content: \"get_thing\\n\"}\n".to_string(),
        persona_session(
            "quality",
            r#"{"verdict": "request_changes", "summary": "Rename it.", "findings": [{"file": "api.txt", "line": 1, "severity": "medium", "message": "Prefer thing()"}]}"#,
        ),
        persona_session("api", APPROVE),
        persona_session("perf", APPROVE),
    ]
    .concat();
    let agent = ScriptedAgent::new(&script);
    reviewed(
        &agent,
        "{ require: majority, personas: [quality, { name: api, prompt_file: .github/review/api.md, model: genius }, { name: perf, prompt: \"Look for PERF-HOTSPOTS.\" }] }",
        "",
    )
    .write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Add an accessor")
        .run();
    r.succeeds();
    let report = r.report();
    let out = &report.stage("review").outputs;
    assert_eq!(out["approvals"], 2, "{out}");
    assert_eq!(out["verdicts"][0]["verdict"], "request_changes");
    assert_eq!(out["verdicts"][0]["blocking"], true);
    assert_eq!(out["findings"][0]["message"], "Prefer thing()");
    insta::assert_snapshot!("majority_summary", out["summary"].as_str().unwrap());
    let api = persona_calls(&agent, "api");
    assert!(
        api[0]["prompt"]
            .as_str()
            .unwrap()
            .contains("API-NAMING-GUIDE")
    );
    assert_eq!(api[0]["model"], "model-genius");
    let perf = persona_calls(&agent, "perf");
    assert!(
        perf[0]["prompt"]
            .as_str()
            .unwrap()
            .contains("PERF-HOTSPOTS")
    );
}

#[test]
fn require_any_fails_when_every_persona_asks_for_changes() {
    let repo = TestRepo::new();
    let reject = r#"{"verdict": "request_changes", "summary": "No.", "findings": [{"file": "b.txt", "severity": "critical", "message": "Deletes user data"}]}"#;
    let script = [
        "- - say: \"Done. <promise>COMPLETE</promise>\"\n  - write: {path: b.txt, content: \"rm -rf\\n\"}\n".to_string(),
        persona_session("security", reject),
        persona_session("tests", reject),
    ]
    .concat();
    let agent = ScriptedAgent::new(&script);
    reviewed(&agent, "{ require: any, personas: [security, tests] }", "").write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Clean up")
        .run();
    assert_ne!(r.code(), 0, "{}", r.context());
    let report = r.report();
    assert_eq!(report.status(), "failed");
    let failure = report.stage("review").failure();
    assert_eq!(failure.kind, "fatal", "{failure:?}");
    // Nobody approved; the findings of both, readable.
    insta::assert_snapshot!("nobody_approved", repo.normalise(&failure.message));
    insta::assert_snapshot!(
        "nobody_approved_findings",
        repo.normalise(failure.detail["text"].as_str().unwrap())
    );
}

#[test]
fn personas_run_at_the_same_time() {
    let repo = TestRepo::new();
    // Where the sessions leave their marks: a directory their sandbox lets them write.
    let holder = ScriptedAgent::new("");
    let marks = holder.scratch();
    let dir = marks.display().to_string();
    // Each persona announces itself, then waits (up to 5 s) to see the other one: both marks
    // appear only when the two sessions are alive at once.
    let waits_for = |me: &str, other: &str| {
        format!(
            "- match: \"^You are the `{me}` reviewer\"\n  steps:\n    - run: \"touch {dir}/{me}-started; for i in $(seq 100); do if [ -e {dir}/{other}-started ]; then touch {dir}/{me}-saw-{other}; break; fi; sleep 0.05; done\"\n    - say: {}\n",
            serde_json::to_string(APPROVE).unwrap()
        )
    };
    let script = [
        "- - say: \"Done. <promise>COMPLETE</promise>\"\n  - write: {path: c.txt, content: \"c\\n\"}\n".to_string(),
        waits_for("quality", "security"),
        waits_for("security", "quality"),
    ]
    .concat();
    let agent = holder;
    std::fs::write(agent.script_path(), script).unwrap();
    reviewed(&agent, "{ personas: [quality, security] }", "").write(&repo);
    repo.engine()
        .args(["run", "workflow.yaml"])
        .task("Add c")
        .run()
        .succeeds();
    assert!(
        marks.join("quality-saw-security").exists(),
        "quality never saw security running"
    );
    assert!(
        marks.join("security-saw-quality").exists(),
        "security never saw quality running"
    );
}

#[test]
fn validate_reports_bad_personas_and_missing_grants() {
    let repo = TestRepo::new();
    repo.workflow(
        r"name: bad-review
stages:
  review:
    uses: builtin:review
    with: { personas: [qualty, { name: perf }], require: most }
    permissions: { workspace: read, agent: true }
",
    );
    // Claude is on PATH wherever the test runs: no warning about it.
    let clis = crate::validate_findings::fake_clis(&["claude"]);
    let r = repo
        .engine()
        .args(["validate", "workflow.yaml"])
        .path_first(clis.path())
        .run();
    // A misspelt persona, a custom persona without a prompt, an unknown `require`, the
    // missing git grant.
    r.exits(2).stdout_is("");
    insta::assert_snapshot!("validate_bad_personas", r.stderr_normalised());
}
