//! What the example plugins' tests share: copying a plugin project without what builds leave,
//! and the two runs every example's workflow must get right (the same workflow shape in each
//! language: `write-entry` appends to CHANGELOG.md when the task has the label `changelog`,
//! then `changelog-check` checks the run's diff).

use std::path::Path;

use crate::support::TestRepo;
use crate::support::report::RunReport;

/// What builds, installs and interpreters leave in a plugin project: never copied.
const LEFT_BY_BUILDS: [&str; 5] = [".engine", "dist", "target", "node_modules", "__pycache__"];

/// Copies the plugin project at `from` to `to`, without what builds leave.
pub fn copy_project(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if LEFT_BY_BUILDS.contains(&name.to_string_lossy().as_ref()) {
            continue;
        }
        if entry.path().is_dir() {
            copy_project(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

/// Runs the example's `workflow` (a path the engine takes, relative to `repo` or absolute) in
/// `repo` (whose CHANGELOG.md is `# Changelog\n`) twice: with the label `changelog` the run
/// succeeds and the entry is on the run's branch; without it the run fails at
/// `changelog-check` with the message that names the file. Returns the report of the run
/// that succeeded, for each language's own checks of the outputs.
#[track_caller]
pub fn passes_and_fails(repo: &TestRepo, workflow: &str) -> RunReport {
    let passed = repo
        .engine()
        .args(["run", workflow, "--label", "changelog"])
        .task("Add a --json flag")
        .run();
    passed.succeeds();
    let report = repo.report(&passed.run_id());
    assert_eq!(report.stage("write-entry").phase.phase, "succeeded");
    assert_eq!(report.stage("changelog-check").phase.phase, "succeeded");
    let on_branch = repo.git(&["show", &format!("{}:CHANGELOG.md", report.meta.branch)]);
    assert_eq!(on_branch, "# Changelog\n- Add a --json flag\n");

    let failed = repo
        .engine()
        .args(["run", workflow])
        .task("Fix a typo")
        .run();
    failed.exits(1).stderr_has(
        "CHANGELOG.md was not changed in this run: add an entry that describes the change",
    );
    let failure = repo
        .report(&failed.run_id())
        .stage("changelog-check")
        .last_failure
        .clone()
        .unwrap();
    assert!(
        failure.message.starts_with("CHANGELOG.md was not changed"),
        "{failure:?}"
    );
    report
}
