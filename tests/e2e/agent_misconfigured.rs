//! A CLI that refuses to run with its configuration fails the stage fatally on its first
//! session, end to end: the real binary, a real git repository, and a stand-in `gemini` that
//! does what Gemini CLI 0.61.0 does in an untrusted folder (the real stderr from
//! engine/crates/engine-agent/tests/fixtures/gemini/real/untrusted.stderr, exit 55). Before,
//! the session ended `errored` and `builtin:agent` resumed it again and again.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::support::TestRepo;

/// Writes the stand-in `gemini` into `dir`: it counts its runs in `dir/runs`, reads its prompt,
/// prints the real CLI's stderr and exits 55.
fn untrusted_gemini(dir: &Path) -> PathBuf {
    let stderr = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("crates/engine-agent/tests/fixtures/gemini/real/untrusted.stderr");
    let path = dir.join("gemini");
    let script = format!(
        "#!/bin/sh\necho run >> '{runs}'\ncat > /dev/null\ncat '{stderr}' >&2\nexit 55\n",
        runs = dir.join("runs").display(),
        stderr = stderr.display(),
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn an_untrusted_folder_fails_the_agent_stage_at_once_saying_how_to_fix_it() {
    let repo = TestRepo::new();
    let bin = tempfile::tempdir().unwrap();
    let gemini = untrusted_gemini(bin.path());
    repo.workflow(&format!(
        r"name: untrusted
agents:
  backends:
    gemini: {{ command: [{}], write: [{}] }}
stages:
  execute:
    uses: builtin:agent
    with: {{ backend: gemini, completion: promise }}
    permissions: {{ workspace: write, agent: true }}
    retry: {{ max_attempts: 3, initial_interval: 10ms }}
",
        gemini.display(),
        bin.path().display()
    ));
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Anything")
        .run();
    r.exits(1);
    let report = r.report();
    let execute = report.stage("execute");
    let failure = execute.failure();
    assert_eq!(failure.kind, "fatal", "{failure:?}");
    insta::assert_snapshot!("untrusted_folder_message", repo.normalise(&failure.message));
    assert_eq!(failure.detail["misconfigured"], true, "{failure:?}");
    assert_eq!(execute.outcomes(), ["failed"], "not retried");
    let runs = std::fs::read_to_string(bin.path().join("runs")).unwrap();
    assert_eq!(runs.lines().count(), 1, "one session, never resumed");
}
