//! examples/plugins/python built with `engine plugin build` (componentize-py installed on first
//! use under `ENGINE_TOOLS_DIR`) and run in its workflow: it passes when the run changes
//! CHANGELOG.md and fails saying so otherwise; a Python stage whose code raises shows the
//! exception's text to the user; the Python SDK's own unit tests pass against the bindings
//! componentize-py generates; a new Python task source builds and lists its tasks; and
//! docs/plugins/python.md followed literally.
//!
//! The example is built once per test process, in a copy outside its source directory
//! (building writes `.engine/`, `dist/` and the pin into the project): in
//! `target/plugin-examples/python`, replaced by every run, so nothing is left in /tmp. Each
//! test copies the built project into its own repository.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use super::guide::{follow, tools_dir};
use super::support::repo::source_root;
use super::support::{TestRepo, engine_bin};

/// The example, copied and built once: its directory and what `engine plugin build` printed.
fn built_example() -> &'static (PathBuf, String) {
    static BUILT: OnceLock<(PathBuf, String)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = source_root().join("target/plugin-examples/python");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        super::examples::copy_project(&source_root().join("examples/plugins/python"), &dir);
        let output = plugin_build(&dir);
        (dir, output)
    })
}

/// `engine plugin build DIR`; panics with its output unless it succeeds.
fn plugin_build(project: &Path) -> String {
    let out = Command::new(engine_bin())
        .args(["plugin", "build"])
        .arg(project)
        .env("ENGINE_TOOLS_DIR", tools_dir())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "engine plugin build failed:\n{text}");
    text
}

/// A repository with a changelog, and the built project (component and pinned workflow
/// included) at `changelog-check/`, not committed (as an author trying it out).
fn repo_with_built_example() -> (TestRepo, PathBuf) {
    let (project, _) = built_example();
    let repo = TestRepo::new();
    repo.write("CHANGELOG.md", "# Changelog\n")
        .commit_all("changelog");
    let copy = repo.path().join("changelog-check");
    crate::support::repo::copy_dir(project, &copy);
    (repo, copy.join("workflow.yaml"))
}

fn sha256_of(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn the_example_builds_pins_itself_and_says_what_it_installs_and_builds() {
    let (project, output) = built_example();
    let component = project.join("dist/changelog-check.wasm");
    let sha = sha256_of(&component);
    assert!(
        output.contains("componentize-py: building dist/changelog-check.wasm..."),
        "{output}"
    );
    assert!(output.contains(&format!("sha256: {sha}")), "{output}");
    let workflow = std::fs::read_to_string(project.join("workflow.yaml")).unwrap();
    assert!(workflow.contains(&format!("sha256: {sha}")), "{workflow}");
    // The build brought the engine's WIT and Python SDK into the project.
    assert!(project.join(".engine/wit/stage.wit").is_file());
    assert!(
        project
            .join(".engine/sdk/python/engine_stage/__init__.py")
            .is_file()
    );
    assert!(
        tools_dir()
            .join("componentize-py-0.25.1/bin/python")
            .exists()
    );
}

#[test]
fn the_example_passes_when_the_run_changes_the_changelog_and_says_so_when_it_does_not() {
    let (repo, workflow) = repo_with_built_example();
    let workflow = workflow.to_str().unwrap();

    let report = super::examples::passes_and_fails(&repo, workflow);
    assert_eq!(
        report.stage("changelog-check").outputs["changed"],
        serde_json::json!(["CHANGELOG.md"])
    );

    // The failure is fatal and says which file, for tools reading the detail.
    let failed = repo
        .engine()
        .args(["run", workflow])
        .task("Fix a typo")
        .run();
    failed.exits(1);
    let report = failed.report();
    assert_eq!(report.stage("write-entry").phase.phase, "skipped");
    let failure = report.stage("changelog-check").failure();
    assert_eq!(failure.kind, "fatal");
    assert_eq!(failure.detail["file"], "CHANGELOG.md");
}

#[test]
fn a_python_exception_reaches_the_failure_message_with_its_traceback() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path();
    super::examples::copy_project(&source_root().join("examples/plugins/python"), project);
    std::fs::write(
        project.join("app.py"),
        r#"from engine_stage import Stage, Success, export


class Counter(Stage):
    """Counts to the configured number."""

    name = "changelog-check"

    def run(self, ctx):
        count = int(ctx.config.get("count", 1))
        return Success(f"counted to {count}")


WitWorld = export(Counter)
"#,
    )
    .unwrap();
    plugin_build(project);
    let sha = sha256_of(&project.join("dist/changelog-check.wasm"));

    let repo = TestRepo::new();
    let workflow = repo.workflow(&format!(
        "name: raises\nstages:\n  count:\n    uses: {}\n    sha256: {sha}\n    with: {{ count: many }}\n",
        project.join("dist/changelog-check.wasm").display()
    ));
    let run = repo
        .engine()
        .args(["run", workflow.to_str().unwrap()])
        .task("Count")
        .run();
    let text = "ValueError: invalid literal for int() with base 10: 'many'";
    run.exits(1)
        .stderr_has(&format!("failed at count: {text}"))
        .never_prints("Python function threw an unexpected exception");
    let failure = run.report().stage("count").failure().clone();
    assert_eq!(failure.kind, "fatal");
    assert_eq!(failure.message, text);
    let traceback = failure.detail["traceback"].as_str().unwrap();
    assert!(
        traceback.contains("File \"app.py\", line 10, in run"),
        "{traceback}"
    );
    assert_eq!(failure.detail["at"], "app.py:10 in run");
    // The traceback is in the run's log too, under the stage.
    repo.engine()
        .args(["logs", &run.run_id()])
        .run()
        .succeeds()
        .stdout_has("ValueError: invalid literal");
}

#[test]
fn the_sdk_unit_tests_and_the_example_s_pass_on_the_host() {
    // The example's build installed componentize-py, whose bindings the SDK's tests use.
    let (project, _) = built_example();
    let sdk = source_root().join("plugins/sdk-python");
    for (dir, args) in [
        (
            sdk.as_path(),
            vec!["-m", "unittest", "discover", "-s", "tests"],
        ),
        (project.as_path(), vec!["-m", "unittest"]),
    ] {
        let out = Command::new("python3")
            .args(&args)
            .current_dir(dir)
            .env("ENGINE_TOOLS_DIR", tools_dir())
            .env("ENGINE_SDK_TESTS_REQUIRE_BINDINGS", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && text.contains("\nOK"),
            "python3 {args:?} in {}:\n{text}",
            dir.display()
        );
    }
}

#[test]
fn a_new_python_task_source_builds_and_lists_its_tasks() {
    let repo = TestRepo::new();
    repo.engine()
        .args([
            "plugin", "new", "my-tasks", "--lang", "python", "--kind", "source",
        ])
        .run()
        .succeeds()
        .stdout_has("created my-tasks/: a python task source");
    repo.engine()
        .args(["plugin", "build", "my-tasks"])
        .env("ENGINE_TOOLS_DIR", tools_dir())
        .run()
        .succeeds()
        .stderr_has("componentize-py: building dist/my-tasks.wasm...");
    let listed = repo
        .engine()
        .args(["tasks", "my-tasks/workflow.yaml", "--json"])
        .run();
    listed.succeeds();
    let tasks = listed.json();
    let got: Vec<String> = tasks["tasks"]
        .as_array()
        .unwrap_or_else(|| panic!("no tasks in {tasks}"))
        .iter()
        .map(|t| format!("{} {} {}", t["id"], t["status"], t["location"]))
        .collect();
    assert_eq!(
        got,
        [
            r#""hello" "todo" "my-tasks/tasks.txt:3""#,
            r#""setup" "done" "my-tasks/tasks.txt:2""#
        ],
        "{tasks}"
    );
}

#[test]
fn the_python_guide_can_be_followed() {
    let followed = follow("docs/plugins/python.md");
    for expected in [
        "created hello-stage/",
        "componentize-py: building dist/hello-stage.wasm...",
        "sha256: ",
        "succeeded",
        "OK",
    ] {
        assert!(
            followed.output.contains(expected),
            "the guide's output lacks {expected:?}:\n{}",
            followed.output
        );
    }
}
