//! examples/plugins/rust built with `engine plugin build`, unit-tested with `cargo test` and
//! run in its workflow on a temporary repository (it passes when the run changed CHANGELOG.md,
//! and fails saying so when it did not); the Rust task-source template built and listing its
//! tasks; and docs/plugins/rust.md followed literally.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::support::TestRepo;
use crate::support::repo::source_root;

/// The cargo target directory the Rust plugin projects of the tests share (warm across runs;
/// never the workspace's own `target/`).
pub(crate) fn cargo_target_dir() -> PathBuf {
    source_root().join("target/plugin-projects")
}

#[test]
fn the_rust_example_passes_when_the_changelog_changed_and_says_so_when_not() {
    let repo = TestRepo::new();
    repo.write("CHANGELOG.md", "# Changelog\n")
        .commit_all("changelog");
    let project = repo.path().join("changelog-check");
    super::examples::copy_project(&source_root().join("examples/plugins/rust"), &project);

    let built = repo
        .engine()
        .args(["plugin", "build", "changelog-check"])
        .env("CARGO_TARGET_DIR", cargo_target_dir())
        .run();
    built.succeeds();
    let sha = hex::encode(Sha256::digest(
        std::fs::read(project.join("dist/changelog-check.wasm")).unwrap(),
    ));
    built.stdout_has(&format!("sha256: {sha}\n"));
    let workflow = repo.read("changelog-check/workflow.yaml");
    assert!(workflow.contains(&format!("sha256: {sha}\n")), "{workflow}");

    // Its unit tests run on this machine, against the SDK the build wrote into .engine/.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let test = std::process::Command::new(cargo)
        .arg("test")
        .current_dir(&project)
        .env("CARGO_TARGET_DIR", cargo_target_dir())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&test.stdout),
        String::from_utf8_lossy(&test.stderr)
    );
    assert!(test.status.success(), "cargo test failed:\n{text}");
    assert!(
        text.contains("test tests::the_changelog_is_found_among_the_changed_paths ... ok"),
        "{text}"
    );

    let report = super::examples::passes_and_fails(&repo, "changelog-check/workflow.yaml");
    assert_eq!(
        report.state.stages["changelog-check"].outputs["file"],
        "CHANGELOG.md"
    );
}

#[test]
fn the_rust_source_template_builds_and_lists_its_tasks() {
    let repo = TestRepo::new();
    repo.engine()
        .args([
            "plugin",
            "new",
            "todo-file",
            "--lang",
            "rust",
            "--kind",
            "source",
        ])
        .run()
        .succeeds();
    let project = repo.path().join("todo-file");
    repo.engine()
        .args(["plugin", "build"])
        .in_dir(&project)
        .env("CARGO_TARGET_DIR", cargo_target_dir())
        .run()
        .succeeds()
        .stdout_has("workflow.yaml: tasks.source: sha256 000000000000… -> ");
    let listed = repo
        .engine()
        .args(["tasks", "workflow.yaml", "--json"])
        .in_dir(&project)
        .run();
    listed.succeeds();
    let mut tasks: Vec<(String, String, bool)> = listed.json()["tasks"]
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
    tasks.sort();
    assert_eq!(
        tasks,
        [
            ("hello".to_string(), "todo".to_string(), true),
            ("setup".to_string(), "done".to_string(), false)
        ]
    );
}

#[test]
fn the_rust_guide_is_followed_literally() {
    let followed = super::guide::follow("docs/plugins/rust.md");
    let out = &followed.output;
    for expected in [
        "created hello-stage/: a rust stage",
        "built dist/hello-stage.wasm (",
        "workflow.yaml: stage hello-stage: sha256 000000000000… -> ",
        "hello-stage · README.md: 0 line(s) hold \"TODO\"",
        "test tests::marker_lines_are_numbered_from_one ... ok",
    ] {
        assert!(
            out.contains(expected),
            "the guide's output lacks {expected:?}\n--- script ---\n{}\n--- output ---\n{out}",
            followed.script
        );
    }
    let component = followed
        .dir
        .path()
        .join("my-repo/hello-stage/dist/hello-stage.wasm");
    assert!(component.is_file(), "{} was not built", component.display());
}
