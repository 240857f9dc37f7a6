//! `engine plugin new` and `engine plugin build` as a plugin author uses them, for what needs no
//! wasm build: the mistakes an author makes (a bad name, an existing directory, no or a bad
//! `plugin.toml`, a crate cargo cannot build) refused with the right exit code and words, and a
//! task-source project laid out right. A new Rust stage built, pinned, run and unit-tested is in
//! the plugin-author suite (`tests/plugins/rust_new.rs`), with the other wasm builds of plugin
//! projects.

use std::path::{Path, PathBuf};

use crate::support::TestRepo;
use crate::support::repo::source_root;

/// The target directory the plugin projects of the tests share: never the workspace's own
/// `target/` (another workspace's release build there would rebuild the engine's dependencies).
fn cargo_target_dir() -> PathBuf {
    source_root().join("target/plugin-projects")
}

/// `engine ARGS` in `dir` (below `repo`) with the shared cargo target directory.
#[track_caller]
fn engine_in<'r>(
    repo: &'r TestRepo,
    dir: &Path,
    args: &[&str],
) -> crate::support::EngineOutput<'r> {
    repo.engine()
        .args(args)
        .in_dir(dir)
        .env("CARGO_TARGET_DIR", cargo_target_dir())
        .run()
}

#[test]
fn a_name_that_is_not_kebab_case_is_refused_and_nothing_written() {
    let repo = TestRepo::new();
    repo.run(&["plugin", "new", "My_Stage", "--lang", "rust"])
        .exits(2)
        .stderr_has("invalid plugin name \"My_Stage\": it must start with a lowercase letter")
        .stderr_has("try \"my-stage\"");
    repo.assert_no_file("My_Stage");
    repo.assert_no_file("my-stage");
}

#[test]
fn an_existing_directory_with_files_is_never_written_into() {
    let repo = TestRepo::new();
    repo.write("tools/lint/notes.txt", "mine\n");
    repo.run(&["plugin", "new", "lint", "--lang", "rust", "--dir", "tools"])
        .exits(2)
        .stderr_has("tools/lint already exists and is not empty");
    repo.assert_file("tools/lint/notes.txt", "mine\n");
    repo.assert_no_file("tools/lint/plugin.toml");
}

#[test]
fn a_source_project_is_made_with_the_tasks_file_relative_to_the_repository() {
    let repo = TestRepo::new();
    repo.run(&[
        "plugin",
        "new",
        "todo-file",
        "--lang",
        "rust",
        "--kind",
        "source",
        "--dir",
        "tools",
    ])
    .succeeds()
    .stdout_has("created tools/todo-file/: a rust task source")
    .stdout_has("  cd tools/todo-file && engine plugin build\n  engine tasks workflow.yaml\n");
    let workflow = repo.read("tools/todo-file/workflow.yaml");
    assert!(
        workflow.contains("path: tools/todo-file/tasks.txt"),
        "{workflow}"
    );
    assert!(
        repo.path()
            .join("tools/todo-file/.engine/sdk/rust/source-sdk/Cargo.toml")
            .is_file()
    );
}

#[test]
fn build_outside_a_project_says_what_a_project_is() {
    let repo = TestRepo::new();
    repo.run(&["plugin", "build"])
        .exits(2)
        .stderr_has("has no plugin.toml: is it a plugin project?");
    repo.run(&["plugin", "build", "--workflow", "missing.yaml"])
        .exits(2)
        .stderr_has("--workflow missing.yaml: no such workflow file");
}

#[test]
fn a_bad_manifest_is_named_by_file_line_and_key() {
    let repo = TestRepo::new();
    repo.write(
        "p/plugin.toml",
        "name = \"p\"\nkind = \"stage\"\nlang = \"go\"\n",
    );
    repo.run(&["plugin", "build", "p"])
        .exits(2)
        .stderr_has("p/plugin.toml:3: lang: \"go\" is not \"rust\", \"python\" or \"js\"");
}

#[test]
fn a_crate_cargo_cannot_build_is_a_tool_failure() {
    let repo = TestRepo::new();
    repo.write(
        "p/plugin.toml",
        "name = \"p\"\nkind = \"stage\"\nlang = \"rust\"\n",
    );
    repo.write("p/Cargo.toml", "[package\nname = \"p\"\n");
    let r = engine_in(&repo, &repo.path().join("p"), &["plugin", "build"]);
    r.exits(1).stderr_has("error: cargo build failed");
    // The engine's files were written all the same: the project can be fixed and built.
    assert!(repo.path().join("p/.engine/wit/stage.wit").is_file());
    repo.assert_no_file("p/dist/p.wasm");
}
