//! examples/plugins/js built with `engine plugin build` (componentize-js), unit-tested with
//! `node --test` and run in its workflow on a temporary repository (it passes when the run
//! changed CHANGELOG.md, and fails saying so when it did not); the JS templates built and run
//! (a stage that throws shows its error's message to the user); and docs/plugins/js.md
//! followed literally.

use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::support::TestRepo;
use crate::support::repo::source_root;

/// `node --test` in `dir`: its output, after asserting it passed.
fn node_test(dir: &Path) -> String {
    let out = Command::new("node")
        .arg("--test")
        .current_dir(dir)
        .output()
        .expect("node is needed by the plugin suite");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "node --test failed:\n{text}");
    text
}

/// `engine plugin build` of the project `dir` (relative to the repository), which must
/// succeed and pin the component it wrote in the project's workflow; returns the sha256.
fn build(repo: &TestRepo, dir: &str, name: &str) -> String {
    let built = repo.engine().args(["plugin", "build", dir]).run();
    built.succeeds();
    built.stderr_has(&format!(
        "componentize-js: building dist/{name}.wasm (world "
    ));
    let component = repo.path().join(dir).join(format!("dist/{name}.wasm"));
    let sha = hex::encode(Sha256::digest(std::fs::read(component).unwrap()));
    built.stdout_has(&format!("sha256: {sha}\n"));
    let workflow = repo.read(&format!("{dir}/workflow.yaml"));
    assert!(workflow.contains(&format!("sha256: {sha}\n")), "{workflow}");
    sha
}

#[test]
fn the_js_sdk_passes_its_own_tests() {
    let sdk = source_root().join("plugins/sdk-js");
    let mut specs: Vec<_> = std::fs::read_dir(sdk.join("tests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".spec.js"))
        .collect();
    specs.sort();
    assert!(specs.len() >= 5, "{specs:?}");
    let out = Command::new("node")
        .arg("--test")
        .args(&specs)
        .current_dir(&sdk)
        .output()
        .expect("node is needed by the plugin suite");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the SDK's tests failed:\n{text}");
    assert!(text.contains("# fail 0"), "{text}");
}

#[test]
fn the_js_example_passes_when_the_changelog_changed_and_says_so_when_not() {
    let repo = TestRepo::new();
    repo.write("CHANGELOG.md", "# Changelog\n")
        .commit_all("changelog");
    let project = repo.path().join("changelog-check");
    super::examples::copy_project(&source_root().join("examples/plugins/js"), &project);
    build(&repo, "changelog-check", "changelog-check");

    // Its tests run on this machine: the pure helpers, and the whole stage against the SDK's
    // fake host (the SDK is the one the build wrote into .engine/).
    let tested = node_test(&project);
    for test in [
        "ok 1 - changed files come from NUL-separated git output, each once",
        "a run that did not change it fails, naming the file",
    ] {
        assert!(tested.contains(test), "{tested}");
    }
    assert!(tested.contains("# fail 0"), "{tested}");

    let report = super::examples::passes_and_fails(&repo, "changelog-check/workflow.yaml");
    let outputs = &report.state.stages["changelog-check"].outputs;
    assert_eq!(outputs["file"], "CHANGELOG.md");
    assert_eq!(outputs["changed_files"], 1);
}

/// A stage whose `run` has a bug: it reads a property of `undefined`.
const THROWING_APP: &str = r"import { defineStage } from './.engine/sdk/js/engine-stage.js';

function firstLabel(task) {
  return task.labels[0].toUpperCase();
}

export const { describe, run } = defineStage({
  name: 'boom',
  run(ctx) {
    return firstLabel(ctx.task);
  },
});
";

#[test]
fn the_js_stage_template_runs_and_a_stage_that_throws_shows_its_message() {
    let repo = TestRepo::new();
    repo.engine()
        .args(["plugin", "new", "boom", "--lang", "js"])
        .run()
        .succeeds();
    let project = repo.path().join("boom");
    build(&repo, "boom", "boom");
    assert!(node_test(&project).contains("# fail 0"));
    // Out of the box the template's stage passes on a run that changed nothing.
    repo.engine()
        .args(["run", "boom/workflow.yaml"])
        .task("Try it")
        .run()
        .succeeds()
        .stderr_has("0 file(s) changed (at most 20)");

    // Mistakes fail the build, saying where: a syntax error (node's words, file and line)...
    let app = std::fs::read_to_string(project.join("app.js")).unwrap();
    let broken = app.replace(
        "const maxFiles = ctx.config.max_files;",
        "const maxFiles = ctx.config.max_files +;",
    );
    assert_ne!(
        broken, app,
        "the template's app.js changed: update this test"
    );
    std::fs::write(project.join("app.js"), broken).unwrap();
    repo.engine()
        .args(["plugin", "build", "boom"])
        .run()
        .exits(1)
        .stderr_has("app.js:")
        .stderr_has("SyntaxError: Unexpected token ';'")
        .never_prints("node_modules");
    // ... and a wrong field of the stage's description (the SDK's words).
    std::fs::write(
        project.join("app.js"),
        app.replace("workspace: 'read'", "workspace: 'rw'"),
    )
    .unwrap();
    repo.engine()
        .args(["plugin", "build", "boom"])
        .run()
        .exits(1)
        .stderr_has(
            "TypeError: defineStage: permissions.workspace must be \"none\", \"read\" or \"write\", got a string \"rw\"",
        )
        .stderr_has("@app.js:");

    std::fs::write(project.join("app.js"), THROWING_APP).unwrap();
    build(&repo, "boom", "boom");
    let failed = repo
        .engine()
        .args(["run", "boom/workflow.yaml"])
        .task("Try it")
        .run();
    // SpiderMonkey's words for the bug, as the stage's failure, not a bare wasm trap.
    let message = "TypeError: can't access property \"toUpperCase\", task.labels[0] is undefined";
    failed
        .exits(1)
        .stderr_has(message)
        .never_prints("unreachable");
    let report = repo.report(&failed.run_id());
    let failure = report.state.stages["boom"].last_failure.clone().unwrap();
    assert_eq!(failure.message, message, "{failure:?}");
    repo.run(&["show", &failed.run_id()])
        .succeeds()
        .stdout_has(message);
    // The detail has the stage's own frames (file and line), not the SDK's.
    let show = repo.show(&failed.run_id()).to_string();
    assert!(show.contains("firstLabel@app.js:4:"), "{show}");
    assert!(!show.contains("core/stage.js"), "{show}");
}

#[test]
fn the_js_source_template_builds_and_lists_its_tasks() {
    let repo = TestRepo::new();
    repo.engine()
        .args([
            "plugin",
            "new",
            "todo-file",
            "--lang",
            "js",
            "--kind",
            "source",
        ])
        .run()
        .succeeds();
    let project = repo.path().join("todo-file");
    assert!(node_test(&project).contains("# fail 0"));
    repo.engine()
        .args(["plugin", "build"])
        .in_dir(&project)
        .run()
        .succeeds()
        .stdout_has("workflow.yaml: tasks.source: sha256 000000000000… -> ");
    let listed = repo
        .engine()
        .args(["tasks", "workflow.yaml", "--json"])
        .in_dir(&project)
        .run();
    listed.succeeds();
    let tasks: Vec<(String, String, bool)> = listed.json()["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["status"].as_str().unwrap().to_string(),
                t["ready"].as_bool().unwrap(),
            )
        })
        .collect();
    // In readiness order: the ready task first.
    assert_eq!(
        tasks,
        [
            ("hello".to_string(), "todo".to_string(), true),
            ("setup".to_string(), "done".to_string(), false)
        ]
    );
}

#[test]
fn the_js_guide_is_followed_literally() {
    let followed = super::guide::follow("docs/plugins/js.md");
    let out = &followed.output;
    for expected in [
        "created hello-stage/: a js stage",
        "componentize-js: building dist/hello-stage.wasm (world stage)...",
        "built dist/hello-stage.wasm (",
        "workflow.yaml: stage hello-stage: sha256 000000000000… -> ",
        "hello-stage · 0 file(s) changed since ",
        "# fail 0",
        "this run changed 1 file, more than 0: README.md",
    ] {
        assert!(
            out.contains(expected),
            "the guide's output lacks {expected:?}:\n{out}"
        );
    }
}
