//! `engine init` in fresh repositories: the detected test command and agent CLI land in the
//! workflow, the workflow validates with the real binary, and existing files are protected.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::support::{EngineOutput, TestRepo};

/// A `PATH` with only git (linked) and the given fake agent CLIs, so whatever the machine has
/// installed does not change the outcome.
struct FakePath {
    dir: tempfile::TempDir,
}

impl FakePath {
    fn new(clis: &[&str]) -> FakePath {
        let dir = tempfile::tempdir().unwrap();
        let git = which("git");
        std::os::unix::fs::symlink(git, dir.path().join("git")).unwrap();
        for cli in clis {
            let path = dir.path().join(cli);
            std::fs::write(&path, "#!/bin/sh\nexit 0\n").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        FakePath { dir }
    }

    fn value(&self) -> &Path {
        self.dir.path()
    }
}

/// Where `program` is on the test's PATH.
fn which(program: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap();
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} not on PATH"))
}

/// `engine init ARGS` in `repo` with only `path` on PATH.
#[track_caller]
fn init<'r>(repo: &'r TestRepo, path: &FakePath, args: &[&str]) -> EngineOutput<'r> {
    repo.engine()
        .args(["init"])
        .args(args)
        .env("PATH", path.value())
        .run()
}

/// `engine validate FILE` succeeds.
#[track_caller]
fn validate(repo: &TestRepo, file: &str) {
    let r = repo.run(&["validate", file]);
    assert_eq!(r.code(), 0, "{file}:\n{}\n{}", repo.read(file), r.context());
}

/// Runs `engine init` in a repo holding `files`, validates the result; returns what init
/// printed and the workflow's text.
#[track_caller]
fn init_with(files: &[(&str, &str)]) -> (String, String) {
    let repo = TestRepo::new();
    for (name, text) in files {
        repo.write(name, text);
    }
    let r = init(&repo, &FakePath::new(&[]), &[]);
    r.succeeds();
    validate(&repo, "workflows/engine.yaml");
    let schema = repo.read("workflows/workflow.schema.json");
    assert!(schema.contains("\"$schema\""), "{schema}");
    (r.stdout_normalised(), repo.read("workflows/engine.yaml"))
}

/// The workflow text `engine init` wrote for a repo holding `files`.
#[track_caller]
fn workflow_for(files: &[(&str, &str)]) -> String {
    init_with(files).1
}

/// The workflow's test stage runs `commands` with `exec` granted.
#[track_caller]
fn assert_test_stage(text: &str, commands: &str, exec: &str) {
    assert!(text.contains(&format!("commands: [{commands}]")), "{text}");
    assert!(text.contains(&format!("exec: [{exec}] }}")), "{text}");
}

#[test]
fn each_kind_of_project_gets_its_test_command_and_validates() {
    let (said, text) = init_with(&[("Cargo.toml", "[package]\nname = \"x\"\n")]);
    // What init says it found and what to do next; the whole workflow it wrote.
    insta::assert_snapshot!("init_cargo_stdout", said);
    insta::assert_snapshot!("init_cargo_workflow", text);
    assert_test_stage(&text, "\"cargo test\"", "cargo");
    assert!(text.starts_with("# yaml-language-server: $schema=./workflow.schema.json\n"));

    let pkg = r#"{"name":"x","scripts":{"test":"node --test"}}"#;
    let text = workflow_for(&[("package.json", pkg)]);
    assert_test_stage(&text, "\"npm test\"", "npm");
    let text = workflow_for(&[("package.json", pkg), ("pnpm-lock.yaml", "")]);
    assert_test_stage(&text, "\"pnpm test\"", "pnpm");

    let text = workflow_for(&[("pyproject.toml", "[project]\nname = \"x\"\n")]);
    assert_test_stage(&text, "\"python -m pytest\"", "python");

    let text = workflow_for(&[("go.mod", "module example.com/x\n")]);
    assert_test_stage(&text, "\"go test ./...\"", "go");

    let text = workflow_for(&[("Makefile", "test:\n\ttrue\n")]);
    assert_test_stage(&text, "\"make test\"", "make");
}

#[test]
fn several_build_files_take_the_first_and_say_so() {
    let text = workflow_for(&[("go.mod", "module x\n"), ("Makefile", "test:\n\ttrue\n")]);
    assert_test_stage(&text, "\"go test ./...\"", "go");
    assert!(
        text.contains("from go.mod (also found: Makefile;"),
        "{text}"
    );
}

#[test]
fn no_build_file_gives_a_placeholder_that_validates_and_fails_when_run() {
    let text = workflow_for(&[]);
    assert!(text.contains("exec: [sh] }"), "{text}");
    assert!(text.contains("replace this placeholder"), "{text}");
    // The placeholder itself fails with the message.
    let out = std::process::Command::new("sh")
        .args(["-c", "echo \"engine init found no test command: edit the test stage of this workflow\" >&2; exit 1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text.contains("engine init found no test command"), "{text}");
}

#[test]
fn the_agent_cli_on_path_picks_the_backend_and_its_secrets() {
    let repo = TestRepo::new();
    let r = init(&repo, &FakePath::new(&["codex"]), &[]);
    r.succeeds();
    // It says which agent CLI it found.
    insta::assert_snapshot!("init_codex_on_path_stdout", r.stdout_normalised());
    let text = repo.read("workflows/engine.yaml");
    assert!(text.contains("      backend: codex\n"), "{text}");
    assert!(text.contains("secrets: [OPENAI_API_KEY]"), "{text}");
    validate(&repo, "workflows/engine.yaml");

    let repo = TestRepo::new();
    init(&repo, &FakePath::new(&[]), &[]).succeeds();
    let text = repo.read("workflows/engine.yaml");
    assert!(text.contains("      backend: claude\n"), "{text}");
    assert!(
        text.contains("no agent CLI on PATH, claude assumed"),
        "{text}"
    );
}

#[test]
fn an_existing_workflow_is_kept_unless_forced() {
    let repo = TestRepo::new();
    repo.write("ci/flow.yaml", "mine\n");
    let path = FakePath::new(&[]);
    let r = init(&repo, &path, &["--output", "ci/flow.yaml"]);
    r.exits(2);
    insta::assert_snapshot!("init_over_an_existing_file", r.stderr_normalised());
    repo.assert_file("ci/flow.yaml", "mine\n");

    init(
        &repo,
        &path,
        &[
            "--output",
            "ci/flow.yaml",
            "--force",
            "--backend",
            "gemini",
            "--test",
            "make check",
        ],
    )
    .succeeds();
    let text = repo.read("ci/flow.yaml");
    assert!(text.contains("      backend: gemini\n"), "{text}");
    assert_test_stage(&text, "\"make check\"", "make");
    assert!(repo.path().join("ci/workflow.schema.json").is_file());
    validate(&repo, "ci/flow.yaml");
}

#[test]
fn bad_input_and_no_repository_are_refused() {
    let repo = TestRepo::new();
    let path = FakePath::new(&[]);
    let r = init(&repo, &path, &["--backend", "emacs"]);
    r.exits(2);
    insta::assert_snapshot!("init_unknown_backend", r.stderr_normalised());
    let r = init(&repo, &path, &["--test", "./run tests"]);
    r.exits(2);
    insta::assert_snapshot!("init_bad_test_command", r.stderr_normalised());
    repo.assert_no_file("workflows/engine.yaml");

    let dir = tempfile::tempdir().unwrap();
    let r = repo
        .engine()
        .args(["init"])
        .env("PATH", path.value())
        .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
        .in_dir(dir.path())
        .run();
    r.exits(2);
    insta::assert_snapshot!("init_outside_a_repository", r.stderr_normalised());
    assert!(!dir.path().join("workflows").exists());
}

#[test]
fn every_backend_gets_a_workflow_whose_agent_stages_it_can_run() {
    for backend in ["claude", "codex", "gemini", "opencode", "aider", "cursor"] {
        let repo = TestRepo::new();
        let r = init(&repo, &FakePath::new(&[]), &["--backend", backend]);
        assert_eq!(r.code(), 0, "{backend}: {}", r.context());
        let text = repo.read("workflows/engine.yaml");
        // execute and the review personas run on it...
        assert!(
            text.contains(&format!("      backend: {backend}\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "      backend: {backend}   # the reviewers' agent CLI"
            )),
            "{text}"
        );
        // ...asking nothing it refuses: no tool lists (only claude takes them; the review's
        // read-only comes from plan mode on every backend), and validate checks the rest.
        assert!(!text.contains("allowed_tools"), "{backend}: {text}");
        assert!(!text.contains("denied_tools"), "{backend}: {text}");
        validate(&repo, "workflows/engine.yaml");

        // Triage switched to mode agent on the same backend validates too.
        let agent_triage = text.replace(
            "    uses: builtin:triage\n    permissions: { workspace: read }",
            &format!(
                "    uses: builtin:triage\n    with: {{ mode: agent, agent: {{ backend: {backend} }} }}\n    permissions: {{ workspace: read, agent: true }}"
            ),
        );
        assert_ne!(agent_triage, text, "the triage stage moved in the template");
        repo.write("workflows/engine.yaml", &agent_triage);
        validate(&repo, "workflows/engine.yaml");
    }
}
