//! `engine plugin new` then `engine plugin build` for a new Rust stage, as a plugin author does
//! it: the project built (in target/plugin-projects, shared with the other Rust plugin projects
//! of this suite so their dependencies are built once), pinned in its workflow and run in a
//! repository; a rebuild that changes nothing; its unit test passing with `cargo test`; and the
//! same crate declared as a task source refused for what it is. (The author's mistakes that
//! need no wasm build are in the e2e suite, `tests/e2e/plugin_new.rs`.)

use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};

use super::rust_example::cargo_target_dir;
use crate::support::TestRepo;

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
