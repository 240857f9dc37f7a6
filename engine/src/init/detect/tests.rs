use std::path::Path;

use super::*;

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn commands(files: &[(&str, &str)]) -> Vec<String> {
    detect_tests(dir_with(files).path()).commands
}

#[test]
fn each_build_file_gives_its_command() {
    assert_eq!(commands(&[("Cargo.toml", "")]), ["cargo test"]);
    assert_eq!(
        commands(&[("package.json", r#"{"scripts":{"test":"jest"}}"#)]),
        ["npm test"]
    );
    assert_eq!(commands(&[("pyproject.toml", "")]), ["python -m pytest"]);
    assert_eq!(commands(&[("pytest.ini", "")]), ["python -m pytest"]);
    assert_eq!(commands(&[("go.mod", "module x\n")]), ["go test ./..."]);
    assert_eq!(
        commands(&[("Makefile", "build:\n\tcc x.c\ntest: build\n\t./t\n")]),
        ["make test"]
    );
}

#[test]
fn node_runner_follows_the_lockfile_and_needs_a_test_script() {
    let pkg = r#"{"scripts":{"test":"vitest"}}"#;
    assert_eq!(
        commands(&[("package.json", pkg), ("pnpm-lock.yaml", "")]),
        ["pnpm test"]
    );
    assert_eq!(
        commands(&[("package.json", pkg), ("yarn.lock", "")]),
        ["yarn test"]
    );
    let none = commands(&[("package.json", r#"{"scripts":{"build":"tsc"}}"#)]);
    assert_eq!(none, [PLACEHOLDER_COMMAND]);
    assert_eq!(
        commands(&[("package.json", "not json")]),
        [PLACEHOLDER_COMMAND]
    );
}

#[test]
fn a_makefile_without_a_test_target_is_not_a_test_command() {
    let found = commands(&[("Makefile", "testing:\n\ttrue\nall: test-data\n")]);
    assert_eq!(found, [PLACEHOLDER_COMMAND]);
}

#[test]
fn the_first_by_order_wins_and_the_others_are_listed() {
    let dir = dir_with(&[
        ("Makefile", "test:\n\ttrue\n"),
        ("go.mod", ""),
        ("Cargo.toml", ""),
    ]);
    let found = detect_tests(dir.path());
    assert_eq!(found.commands, ["cargo test"]);
    assert_eq!(found.source, Some("Cargo.toml"));
    assert_eq!(found.also_found, ["go.mod", "Makefile"]);
}

#[test]
fn nothing_found_gives_the_failing_placeholder_run_by_sh() {
    let found = detect_tests(dir_with(&[]).path());
    assert_eq!(found.source, None);
    assert_eq!(found.commands, [PLACEHOLDER_COMMAND]);
    assert_eq!(found.programs(), ["sh"]);
}

#[test]
fn programs_are_the_first_words_deduplicated() {
    let t = TestCommand {
        commands: vec![
            "cargo test".into(),
            "cargo clippy -- -D warnings".into(),
            "'make' lint".into(),
        ],
        source: None,
        also_found: vec![],
    };
    assert_eq!(t.programs(), ["cargo", "make"]);
}

fn fake_cli(dir: &Path, name: &str, executable: bool) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, "#!/bin/sh\n").unwrap();
    let mode = if executable { 0o755 } else { 0o644 };
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn the_backend_is_the_first_executable_cli_on_path() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    fake_cli(a.path(), "claude", false); // not executable: ignored
    fake_cli(a.path(), "cursor-agent", true);
    fake_cli(b.path(), "codex", true);
    let path = std::env::join_paths([a.path(), b.path()]).unwrap();
    assert_eq!(detect_backend(Some(&path)).map(|b| b.name), Some("codex"));
    let only_cursor = std::env::join_paths([a.path()]).unwrap();
    assert_eq!(
        detect_backend(Some(&only_cursor)).map(|b| b.name),
        Some("cursor")
    );
    let empty = tempfile::tempdir().unwrap();
    let path = std::env::join_paths([empty.path()]).unwrap();
    assert_eq!(detect_backend(Some(&path)), None);
    assert_eq!(detect_backend(None), None);
}

#[test]
fn backends_are_found_by_name() {
    assert_eq!(
        backend_named("gemini").map(|b| b.secrets),
        Some(&["GEMINI_API_KEY"][..])
    );
    assert_eq!(
        backend_named("cursor").map(|b| b.program),
        Some("cursor-agent")
    );
    assert!(backend_named("emacs").is_none());
}
