//! `engine plugin new` and `engine plugin build` as a plugin author uses them: a new Rust stage
//! built (the one wasm build of this suite, in target/plugin-projects so reruns are warm), pinned
//! in its workflow and run in a repository; its unit test passing with `cargo test`; and the
//! mistakes an author makes (a bad name, an existing directory, no or a bad `plugin.toml`, a
//! crate cargo cannot build, a component of the wrong kind) refused with the right exit code
//! and words.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

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

fn sha256_of(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn a_new_rust_stage_builds_pins_itself_runs_and_passes_its_unit_test() {
    let repo = TestRepo::new();
    repo.write(
        "README.md",
        "# demo\nTODO: write the docs\nfine\n- TODO tests\n",
    )
    .commit_all("notes");

    let created = repo.run(&["plugin", "new", "todo-count", "--lang", "rust"]);
    created.succeeds().stdout_is(
        "created todo-count/: a rust stage (.gitignore, Cargo.lock, Cargo.toml, README.md, \
         plugin.toml, src/lib.rs, workflow.yaml)\n\
         next:\n  cd todo-count && engine plugin build\n  \
         engine run workflow.yaml --task \"Try the todo-count stage\"\n",
    );
    let project = repo.path().join("todo-count");
    let lock_as_created = std::fs::read_to_string(project.join("Cargo.lock")).unwrap();

    // The printed next steps, as printed.
    let built = engine_in(&repo, &project, &["plugin", "build"]);
    built.succeeds();
    let component = project.join("dist/todo-count.wasm");
    let sha = sha256_of(&component);
    let stdout = built.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", built.context());
    let kib = std::fs::metadata(&component).unwrap().len().div_ceil(1024);
    assert!(
        lines[0].starts_with(&format!("built dist/todo-count.wasm ({kib} KiB) in "))
            && lines[0].ends_with(" s"),
        "{}",
        built.context()
    );
    assert_eq!(lines[1], format!("sha256: {sha}"));
    assert_eq!(
        lines[2],
        format!(
            "workflow.yaml: stage todo-count: sha256 000000000000… -> {}…",
            &sha[..12]
        )
    );
    // cargo's own output is the progress.
    built.stderr_has("cargo: building todo-count for wasm32-wasip2 (release)...");
    built.stderr_has("Compiling todo-count v0.1.0");
    let workflow = std::fs::read_to_string(project.join("workflow.yaml")).unwrap();
    assert!(workflow.contains(&format!("sha256: {sha}\n")), "{workflow}");
    assert_eq!(
        std::fs::read_to_string(project.join("Cargo.lock")).unwrap(),
        lock_as_created,
        "cargo rewrote the lock file `new` wrote"
    );

    let run = engine_in(
        &repo,
        &project,
        &["run", "workflow.yaml", "--task", "Count the TODOs"],
    );
    run.succeeds()
        .stderr_has("todo-count · README.md: 2 line(s) hold \"TODO\"");
    let outputs = repo.report(&run.run_id()).state.stages["todo-count"]
        .outputs
        .clone();
    assert_eq!(
        outputs,
        serde_json::json!({ "count": 2, "lines": ["README.md:2", "README.md:4"] })
    );

    // A rebuild of unchanged sources: the same component, the pin found current, and the SDK
    // in .engine/ left as it was (cargo does not rebuild it). --workflow pins another
    // workflow's stages that use the component too, and only those.
    let zeros = "0".repeat(64);
    repo.write(
        "pipeline.yaml",
        &format!(
            "name: pipeline\nstages:\n  first:\n    uses: builtin:gate\n    \
             with: {{ commands: [\"true\"] }}\n    permissions: {{ workspace: read, exec: [\"true\"] }}\n  \
             count:  # the new stage\n    uses: todo-count/dist/todo-count.wasm\n    \
             sha256: \"{zeros}\"\n    needs: [first]\n"
        ),
    );
    let sdk_file = project.join(".engine/sdk/rust/sdk/src/lib.rs");
    let written = std::fs::metadata(&sdk_file).unwrap().modified().unwrap();
    let again = engine_in(
        &repo,
        &project,
        &["plugin", "build", "--workflow", "../pipeline.yaml"],
    );
    again
        .succeeds()
        .stdout_has(&format!(
            "workflow.yaml: stage todo-count: sha256 {}… unchanged",
            &sha[..12]
        ))
        .stdout_has(&format!(
            "../pipeline.yaml: stage count: sha256 000000000000… -> {}…",
            &sha[..12]
        ));
    assert!(
        repo.read("pipeline.yaml")
            .contains(&format!("  count:  # the new stage\n    uses: todo-count/dist/todo-count.wasm\n    sha256: \"{sha}\"\n")),
        "{}",
        repo.read("pipeline.yaml")
    );
    assert_eq!(sha256_of(&component), sha);
    assert_eq!(
        std::fs::metadata(&sdk_file).unwrap().modified().unwrap(),
        written
    );

    // The template's unit test runs on the host.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let test = Command::new(cargo)
        .arg("test")
        .current_dir(&project)
        .env("CARGO_TARGET_DIR", cargo_target_dir())
        .output()
        .unwrap();
    let test_output = format!(
        "{}{}",
        String::from_utf8_lossy(&test.stdout),
        String::from_utf8_lossy(&test.stderr)
    );
    assert!(test.status.success(), "cargo test failed:\n{test_output}");
    assert!(
        test_output.contains("test tests::marker_lines_are_numbered_from_one ... ok"),
        "{test_output}"
    );

    // Declared as a task source, the same crate builds but is refused for what it is.
    let manifest = std::fs::read_to_string(project.join("plugin.toml")).unwrap();
    std::fs::write(
        project.join("plugin.toml"),
        manifest.replace("kind = \"stage\"", "kind = \"source\""),
    )
    .unwrap();
    engine_in(&repo, &project, &["plugin", "build"])
        .exits(2)
        .stderr_has("dist/todo-count.wasm was built but is not a task source this engine can run");
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
