//! The constitution end to end: the real binary, a real git repository, and the scripted agent
//! playing the execute agent and the reviewer. The committed `spec/constitution.md` reaches the
//! agent's prompt and every reviewer's checklist; a reviewer naming a broken rule blocks the
//! merge; what the agent does to the file in its worktree changes nothing.

use std::fmt::Write as _;

use serde_json::Value;

use crate::support::agent::ScriptedAgent;
use crate::support::{TestRepo, Workflow};

const RULES: &str = "# Constitution\n\nRules for every change.\n\n- Never log secrets.\n- Every file ends with a newline.\n";

/// `execute` (builtin:agent), `review` (builtin:review, persona quality) and `merge`, with
/// `extra` top-level sections.
fn governed(agent: &ScriptedAgent, extra: &str) -> Workflow {
    Workflow::named("constitution")
        .top(extra)
        .top("models: { smart: model-smart }")
        .agents(agent, "limits: { post_result_grace: 1s }")
        .stage(
            "execute",
            "uses: builtin:agent\nwith: { backend: claude, completion: promise }\n\
             permissions: { workspace: write, agent: true }\nretry: { max_attempts: 1 }",
        )
        .stage(
            "review",
            "uses: builtin:review\nneeds: [execute]\nwith: { personas: [quality] }\n\
             permissions: { workspace: read, agent: true, exec: [git] }\nretry: { max_attempts: 1 }",
        )
        .stage(
            "merge",
            "uses: builtin:merge\nneeds: [review]\npermissions: { workspace: read, exec: [git] }\n\
             retry: { max_attempts: 1 }",
        )
}

/// The execute agent's session: writes `path` with `content`, then promises.
fn execute_session(writes: &[(&str, &str)]) -> String {
    let mut s = String::from("- - say: \"Done. <promise>COMPLETE</promise>\"\n");
    for (path, content) in writes {
        let _ = writeln!(
            s,
            "  - write: {{path: {path}, content: {}}}",
            serde_json::to_string(content).unwrap()
        );
    }
    s
}

/// The reviewer's session answering `reply`.
fn reviewer(reply: &str) -> String {
    format!(
        "- match: \"^You are the `quality` reviewer\"\n  steps:\n    - say: {}\n",
        serde_json::to_string(reply).unwrap()
    )
}

fn prompts(agent: &ScriptedAgent) -> (Vec<String>, Vec<String>) {
    let all: Vec<String> = agent
        .invocations()
        .iter()
        .filter_map(|c| c["prompt"].as_str().map(str::to_string))
        .collect();
    all.into_iter()
        .partition(|p| !p.starts_with("You are the `"))
}

const KEPT: &str = r#"{"verdict": "approve", "summary": "Fine.", "findings": [],
  "constitution": [{"rule": 1, "ok": true}, {"rule": 2, "ok": true}]}"#;

#[test]
fn the_agent_and_the_reviewer_get_the_committed_constitution() {
    let repo = TestRepo::new();
    repo.write("spec/constitution.md", RULES)
        .commit_all("rules");
    let agent =
        ScriptedAgent::new(&[execute_session(&[("src/a.txt", "a\n")]), reviewer(KEPT)].concat());
    governed(&agent, "").write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Add a")
        .run();
    r.succeeds();
    let (execute, review) = prompts(&agent);
    assert_eq!((execute.len(), review.len()), (1, 1));
    let prompt = &execute[0];
    assert!(
        prompt.contains("## Project constitution (spec/constitution.md)"),
        "{prompt}"
    );
    assert!(
        prompt.contains(&format!(
            "<constitution>\n{}\n</constitution>",
            RULES.trim_end()
        )),
        "{prompt}"
    );
    let review = &review[0];
    assert!(
        review.contains("## The project's constitution (spec/constitution.md)"),
        "{review}"
    );
    assert!(
        review.contains("- R1: Never log secrets.\n- R2: Every file ends with a newline.\n"),
        "{review}"
    );
    assert!(
        review.contains("`constitution`: one entry per rule"),
        "{review}"
    );
    let run = r.run_id();
    assert_eq!(repo.merges_of(&run), 1);
}

#[test]
fn a_reviewer_naming_a_violation_blocks_the_merge_even_when_it_approves() {
    let repo = TestRepo::new();
    repo.write("spec/constitution.md", RULES)
        .commit_all("rules");
    let broken = r#"Looks fine to me.
```json
{"verdict": "approve", "summary": "Fine apart from the rules.", "findings": [],
 "constitution": [{"rule": 1, "ok": false, "message": "src/log.txt prints the API token"}, {"rule": 2, "ok": true}]}
```"#;
    let agent = ScriptedAgent::new(
        &[
            execute_session(&[("src/log.txt", "token=abc\n")]),
            reviewer(broken),
        ]
        .concat(),
    );
    governed(&agent, "").write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Log things")
        .run();
    r.exits(1);
    let report = r.report();
    let o = report.outcomes();
    assert_eq!(o["review"], ["failed"], "{o:?}");
    assert!(o.get("merge").is_none_or(Vec::is_empty), "{o:?}");
    let failure = report.stage("review").failure_of(0);
    assert_eq!(failure.kind, "fatal");
    assert!(
        failure.message.contains(
            "constitution rule R1 (\"Never log secrets.\") not met, says quality: src/log.txt prints the API token"
        ),
        "{}",
        failure.message
    );
    assert_eq!(failure.detail["blocked_by"][0]["check"], "R1");
    assert_eq!(repo.merges_of(&r.run_id()), 0, "nothing was merged");
    repo.assert_no_file("src/log.txt");
}

#[test]
fn no_constitution_file_adds_nothing() {
    let repo = TestRepo::new();
    let plain = r#"{"verdict": "approve", "summary": "Fine.", "findings": []}"#;
    let agent =
        ScriptedAgent::new(&[execute_session(&[("src/a.txt", "a\n")]), reviewer(plain)].concat());
    governed(&agent, "").write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Add a")
        .run();
    r.succeeds();
    let (execute, review) = prompts(&agent);
    assert!(!execute[0].contains("<constitution>"), "{}", execute[0]);
    assert!(
        !execute[0].contains("## Project constitution"),
        "{}",
        execute[0]
    );
    assert!(!review[0].contains("constitution ("), "{}", review[0]);
    assert!(!review[0].contains("`constitution`"), "{}", review[0]);
    // A committed file with `constitution: false` is not used either.
    let repo = TestRepo::new();
    repo.write("spec/constitution.md", RULES)
        .commit_all("rules");
    let agent =
        ScriptedAgent::new(&[execute_session(&[("src/a.txt", "a\n")]), reviewer(plain)].concat());
    governed(&agent, "constitution: false").write(&repo);
    repo.engine()
        .args(["run", "workflow.yaml"])
        .task("Add a")
        .run()
        .succeeds();
    let (execute, _) = prompts(&agent);
    assert!(!execute[0].contains("Never log secrets"), "{}", execute[0]);
}

#[test]
fn a_constitution_too_large_or_missing_is_a_clear_error() {
    let repo = TestRepo::new();
    let big = "- Be careful.\n".repeat(3000);
    repo.write("spec/constitution.md", &big).commit_all("rules");
    let agent = ScriptedAgent::new(&execute_session(&[("src/a.txt", "a\n")]));
    governed(&agent, "").write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Add a")
        .run();
    r.exits(1);
    let report = r.report();
    let failure = report.stage("execute").failure_of(0);
    assert_eq!(
        failure.message,
        format!(
            "spec/constitution.md is {} bytes at the run's base commit; the limit is 32768 bytes: shorten it",
            big.len()
        )
    );
    assert!(agent.invocations().is_empty(), "no agent started");

    let repo = TestRepo::new();
    governed(&agent, "constitution: docs/RULES.md").write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Add a")
        .run();
    r.exits(1);
    let message = r.report().stage("execute").failure_of(0).message.clone();
    assert!(
        message.starts_with(
            "the workflow's `constitution: docs/RULES.md` does not exist at the run's base commit"
        ),
        "{message}"
    );
}

#[test]
fn the_agent_editing_the_constitution_does_not_change_what_the_reviewer_checks() {
    let repo = TestRepo::new();
    repo.write("spec/constitution.md", RULES)
        .commit_all("rules");
    let agent = ScriptedAgent::new(
        &[
            execute_session(&[
                ("spec/constitution.md", "- Anything goes.\n"),
                ("src/a.txt", "a\n"),
            ]),
            reviewer(KEPT),
        ]
        .concat(),
    );
    governed(&agent, "").write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Add a")
        .run();
    r.succeeds();
    let (_, review) = prompts(&agent);
    let review = &review[0];
    assert!(review.contains("- R1: Never log secrets.\n"), "{review}");
    assert!(!review.contains("R1: Anything goes"), "{review}");
    // The diff the reviewer saw shows the attempt, so it can flag it.
    assert!(review.contains("+- Anything goes."), "{review}");
    let report = r.report();
    let outputs: &Value = &report.stage("review").outputs;
    assert_eq!(outputs["approvals"], 1, "{outputs}");
}
