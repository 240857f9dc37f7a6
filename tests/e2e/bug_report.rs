//! `engine bug-report`: a tar of the latest (or a named) run's log, `show --json`, versions,
//! workflow and setup, with every planted secret redacted wherever it was planted (the
//! environment, the workflow, the task text, the output of the run's programs); no runs yet is
//! a clear error; an existing file is kept without --force.

use std::path::Path;
use std::process::Command;

use crate::support::agent::ScriptedAgent;
use crate::support::repo::{files_under, holds};
use crate::support::{TestRepo, Workflow};

/// A secret the workflow names (`secrets:`), set in the environment of the run and the report.
const NAMED_SECRET: &str = "env-planted-3f9c2a7e51";
/// A secret in an environment variable no workflow names, but whose name says it is one.
const UNNAMED_SECRET: &str = "unnamed-planted-key-77aa41";
/// A value under a secret-like key of the workflow's `env:`, printed by the run's program.
const WORKFLOW_SECRET: &str = "planted-workflow-pw-5e6f";
const GITHUB_TOKEN: &str = "ghp_PLANTED0123456789abcdefghijklmnopqrst";
const OPENAI_KEY: &str = "sk-proj-PLANTED0123456789abcdef";
const SLACK_TOKEN: &str = "xoxb-1234567890-PLANTEDslack";
const AWS_KEY_ID: &str = "AKIAPLANTED0123456AB";
const BEARER: &str = "planted-bearer-0a1b2c3d";
const HEADER_VALUE: &str = "token planted-header-99x";
const URL_PASSWORD: &str = "planted-url-pw-9z";

/// Every planted secret.
const PLANTED: &[&str] = &[
    NAMED_SECRET,
    UNNAMED_SECRET,
    WORKFLOW_SECRET,
    GITHUB_TOKEN,
    OPENAI_KEY,
    SLACK_TOKEN,
    AWS_KEY_ID,
    BEARER,
    "planted-header-99x",
    URL_PASSWORD,
    AGENT_KEY,
    AGENT_BEARER,
];

/// The program the run's gate runs: it prints the secrets it is given and the shaped tokens.
fn leak_script() -> String {
    format!(
        r#"echo "leak script ran"
echo "named secret: $1"
echo "db password is $SERVICE_PASSWORD"
echo "pushing with {GITHUB_TOKEN}"
echo "openai {OPENAI_KEY} slack {SLACK_TOKEN} aws {AWS_KEY_ID}"
echo "curl -H 'X-Auth: Bearer {BEARER}'"
echo "Authorization: {HEADER_VALUE}"
echo "git clone https://robot:{URL_PASSWORD}@git.example.com/x.git"
"#
    )
}

/// What the scripted agent says: two shaped tokens.
const AGENT_KEY: &str = "sk-ant-api03-PLANTEDAGENTabcdef1234";
const AGENT_BEARER: &str = "planted-agent-bearer-5150";

/// A gate that prints every planted secret it can, then an agent that says two more.
fn workflow(agent: &ScriptedAgent) -> Workflow {
    Workflow::named("leaky")
        .top("env: { SERVICE_PASSWORD: \"planted-workflow-pw-5e6f\" }")
        .top("defaults:\n  retry: { max_attempts: 1 }")
        .agents(agent, "limits: { post_result_grace: 1s }")
        .stage(
            "leak",
            "uses: builtin:gate\nsecrets: [BUGREPORT_TEST_TOKEN]\n\
             with: { commands: [\"sh leak.sh {{ secrets.BUGREPORT_TEST_TOKEN }}\"] }\n\
             permissions: { workspace: read, exec: [sh] }",
        )
        .stage(
            "execute",
            "uses: builtin:agent\nneeds: [leak]\nwith: { backend: claude, completion: promise }\n\
             permissions: { workspace: write, agent: true }",
        )
}

/// A repository whose run has printed every planted secret; returns it and the run id.
fn leaky_run() -> (TestRepo, String, ScriptedAgent) {
    let repo = TestRepo::new();
    repo.write("leak.sh", &leak_script())
        .commit_all("leak script");
    let agent = ScriptedAgent::new(&format!(
        "- - say: \"I called the API with {AGENT_KEY} and Bearer {AGENT_BEARER}.\"\n  \
         - write: {{path: fixed.txt, content: \"fixed\\n\"}}\n  \
         - say: \"Done. <promise>COMPLETE</promise>\"\n"
    ));
    workflow(&agent).write(&repo);
    let task = format!(
        "Fix the login\n\nIt fails with {GITHUB_TOKEN}, with {NAMED_SECRET} and with \
         {UNNAMED_SECRET}."
    );
    let run = repo
        .engine()
        .env("BUGREPORT_TEST_TOKEN", NAMED_SECRET)
        .env("OTHER_SERVICE_API_KEY", UNNAMED_SECRET)
        .args(["run", "workflow.yaml"])
        .task(&task)
        .run();
    run.succeeds();
    let run_id = run.into_run().run_id();
    (repo, run_id, agent)
}

/// Unpacks `archive` with the system's `tar` into `into`.
fn untar(archive: &Path, into: &Path) {
    std::fs::create_dir_all(into).unwrap();
    let out = Command::new("tar")
        .arg("-xf")
        .arg(archive)
        .arg("-C")
        .arg(into)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tar -xf failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_planted_secret_is_absent_from_the_report_and_the_files_are_there() {
    let (repo, run_id, _agent) = leaky_run();
    // The state directory holds shaped tokens the run printed: the report must remove them.
    let state = files_under(&repo.path().join(".engine"));
    assert!(
        state.iter().any(|(_, bytes)| holds(bytes, GITHUB_TOKEN)),
        "the run did not record the planted token; the test would prove nothing"
    );

    let report = repo
        .engine()
        .env("BUGREPORT_TEST_TOKEN", NAMED_SECRET)
        .env("OTHER_SERVICE_API_KEY", UNNAMED_SECRET)
        .args(["bug-report", "--out", "report.tar"])
        .run();
    report.succeeds().stdout_has("wrote report.tar (");
    report.stdout_has(&format!("run {run_id};"));
    let archive = repo.path().join("report.tar");
    let bytes = std::fs::read(&archive).unwrap();
    for secret in PLANTED {
        assert!(!holds(&bytes, secret), "{secret} is in the archive");
    }

    let unpacked = tempfile::tempdir().unwrap();
    untar(&archive, unpacked.path());
    let files = files_under(unpacked.path());
    let mut names: Vec<String> = files
        .iter()
        .map(|(p, _)| {
            p.strip_prefix(unpacked.path())
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "README.txt",
            "config.json",
            "logs.txt",
            "show.json",
            "versions.txt",
            "workflow.yaml"
        ]
    );
    for (path, bytes) in &files {
        for secret in PLANTED {
            assert!(!holds(bytes, secret), "{secret} in {}", path.display());
        }
    }
    let read = |name: &str| std::fs::read_to_string(unpacked.path().join(name)).unwrap();

    let logs = read("logs.txt");
    assert!(logs.contains("leak script ran"), "{logs}");
    assert!(logs.contains("pushing with [redacted]"), "{logs}");
    assert!(logs.contains("db password is [redacted]"), "{logs}");
    assert!(
        logs.contains("https://[redacted]@git.example.com"),
        "{logs}"
    );
    assert!(logs.contains("Authorization: [redacted]"), "{logs}");
    assert!(
        logs.contains("execute#1 agent I called the API with [redacted] and Bearer [redacted]\n"),
        "{logs}"
    );

    let show: serde_json::Value = serde_json::from_str(&read("show.json")).unwrap();
    assert_eq!(show["meta"]["run_id"], run_id.as_str());
    assert_eq!(show["state"]["status"]["status"], "succeeded");
    let shown = show.to_string();
    assert!(shown.contains("Fix the login"), "{shown}");

    let workflow = read("workflow.yaml");
    assert!(workflow.contains("name: leaky"), "{workflow}");
    assert!(
        workflow.contains("SERVICE_PASSWORD: \"[redacted]\""),
        "{workflow}"
    );
    assert!(
        workflow.contains("secrets: [BUGREPORT_TEST_TOKEN]"),
        "{workflow}"
    );

    let config: serde_json::Value = serde_json::from_str(&read("config.json")).unwrap();
    assert_eq!(config["stages"]["leak"]["uses"], "builtin:gate");
    assert_eq!(config["stages"]["execute"]["backend"], "claude");
    assert_eq!(
        config["secrets"]["BUGREPORT_TEST_TOKEN"]["set_in_this_environment"],
        true
    );

    let versions = read("versions.txt");
    assert!(
        versions.starts_with(&format!("engine: {}\n", env!("CARGO_PKG_VERSION"))),
        "{versions}"
    );
    assert!(versions.contains("git (git): git version"), "{versions}");

    let readme = read("README.txt");
    for line in [
        &format!("engine bug report for run {run_id}"),
        "  logs.txt  `engine logs",
        "GitHub tokens: ",
        "the value of $BUGREPORT_TEST_TOKEN: ",
        "the value of $OTHER_SERVICE_API_KEY: ",
        "the value of workflow key SERVICE_PASSWORD: ",
        "passwords in URLs: 1",
    ] {
        assert!(readme.contains(line), "{line:?} in {readme}");
    }
}

#[test]
fn no_runs_yet_is_a_clear_error_and_an_unknown_run_too() {
    let repo = TestRepo::new();
    repo.engine()
        .args(["bug-report"])
        .run()
        .exits(2)
        .stderr_has("no runs yet in ");
    assert!(!repo.path().join("engine-bug-report-.tar").exists());
    let (repo, _, _agent) = leaky_run();
    repo.engine()
        .args(["bug-report", "01NOSUCHRUN"])
        .run()
        .exits(2)
        .stderr_has("01NOSUCHRUN");
}

#[test]
fn an_existing_file_is_kept_without_force_and_the_default_name_has_the_run_id() {
    let (repo, run_id, _agent) = leaky_run();
    std::fs::create_dir_all(repo.path().join("spec")).unwrap();
    repo.engine().args(["bug-report"]).run().succeeds();
    let default = repo.path().join(format!("engine-bug-report-{run_id}.tar"));
    assert!(default.is_file(), "{}", default.display());
    repo.write("taken.tar", "not mine to replace");
    repo.engine()
        .args(["bug-report", "--out", "taken.tar"])
        .run()
        .exits(2)
        .stderr_has("taken.tar already exists; pass --force");
    repo.assert_file("taken.tar", "not mine to replace");
    repo.engine()
        .args(["bug-report", "--out", "no/such/dir/r.tar"])
        .run()
        .exits(2)
        .stderr_has("the directory no/such/dir does not exist");
    repo.engine()
        .args(["bug-report", "--out", "spec", "--force"])
        .run()
        .exits(2)
        .stderr_has("--out spec: a directory");
    repo.engine()
        .args(["bug-report", "--out", "taken.tar", "--force", &run_id])
        .run()
        .succeeds();
    let unpacked = tempfile::tempdir().unwrap();
    untar(&repo.path().join("taken.tar"), unpacked.path());
    assert!(unpacked.path().join("README.txt").is_file());
    let leftovers: Vec<String> = std::fs::read_dir(repo.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".taken.tar."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
