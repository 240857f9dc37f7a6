//! `engine plugin pin`: a workflow's sha256 pins brought up to date with the real fixture
//! plugins, in place — the rest of the file byte for byte — and `--check` for CI.

use std::os::unix::fs::PermissionsExt;

use crate::support::{TestRepo, fixture};

const STALE: &str = "abababababababababababababababababababababababababababababababab";

/// A repository with the fixture plugins `echo.wasm` and `write.wasm` under `plugins/`.
fn repo_with_plugins() -> TestRepo {
    let repo = TestRepo::new();
    std::fs::create_dir_all(repo.path().join("plugins")).unwrap();
    for (name, file) in [
        ("fixture_echo", "echo.wasm"),
        ("fixture_write", "write.wasm"),
    ] {
        let (path, _) = fixture(name);
        std::fs::copy(path, repo.path().join("plugins").join(file)).unwrap();
    }
    repo
}

/// `text` with `{ECHO}` and `{WRITE}` replaced by the fixtures' sha256 (and `{STALE}`).
fn filled(text: &str) -> String {
    text.replace("{ECHO}", &fixture("fixture_echo").1)
        .replace("{WRITE}", &fixture("fixture_write").1)
        .replace("{STALE}", STALE)
}

/// The first 12 hex digits and an ellipsis, as the command prints a pin.
fn short(sha: &str) -> String {
    format!("{}…", &sha[..12])
}

const BEFORE: &str = "# The demo workflow: pins kept by `engine plugin pin`.\nname:    pinned   # odd \
spacing on purpose\n\nstages:\n  hello:                 # says hello\n    uses: \
./plugins/echo.wasm   # built by cargo\n    sha256: '{STALE}'     # stale\n    with: {greeting: \
\"hi\", sha256: \"not a pin\"}\n\n  write: { uses: \"plugins/write.wasm\", permissions: { \
workspace: write } }\n\n  gate:\n    uses: builtin:gate\n    with: { commands: [\"true\"] }\n    \
permissions: { workspace: read, exec: [\"true\"] }\n\nfinally:\n  again:\n    # pinned below\n    \
uses:   plugins/echo.wasm\n    sha256:\n";

const AFTER: &str = "# The demo workflow: pins kept by `engine plugin pin`.\nname:    pinned   # odd \
spacing on purpose\n\nstages:\n  hello:                 # says hello\n    uses: \
./plugins/echo.wasm   # built by cargo\n    sha256: '{ECHO}'     # stale\n    with: {greeting: \
\"hi\", sha256: \"not a pin\"}\n\n  write: { uses: \"plugins/write.wasm\", sha256: {WRITE}, \
permissions: { workspace: write } }\n\n  gate:\n    uses: builtin:gate\n    with: { commands: \
[\"true\"] }\n    permissions: { workspace: read, exec: [\"true\"] }\n\nfinally:\n  again:\n    # \
pinned below\n    uses:   plugins/echo.wasm\n    sha256: {ECHO}\n";

#[test]
fn stale_and_missing_pins_are_rewritten_and_the_rest_stays_byte_for_byte() {
    let repo = repo_with_plugins();
    let workflow = repo.workflow(&filled(BEFORE));
    std::fs::set_permissions(&workflow, std::fs::Permissions::from_mode(0o640)).unwrap();
    let r = repo.run(&["plugin", "pin", "workflow.yaml"]);
    r.succeeds();
    let (echo, write) = (fixture("fixture_echo").1, fixture("fixture_write").1);
    assert_eq!(
        r.stdout(),
        format!(
            "stage hello: sha256 {} -> {}\nstage write: sha256 (none) -> {}\nstage again: \
             sha256 (none) -> {}\n",
            short(STALE),
            short(&echo),
            short(&write),
            short(&echo)
        )
    );
    assert_eq!(repo.read("workflow.yaml"), filled(AFTER));
    // Written atomically: the permissions kept, no temporary file left.
    let mode = std::fs::metadata(&workflow).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    let mut names: Vec<String> = std::fs::read_dir(repo.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [".git", "README.md", "plugins", "src", "workflow.yaml"]
    );
    // The pinned workflow loads its plugins.
    repo.run(&["validate", "workflow.yaml"]).succeeds();
    // Once more: every pin is current.
    let r = repo.run(&["plugin", "pin", "workflow.yaml"]);
    r.succeeds();
    r.stdout_has(&format!("stage hello: sha256 {} unchanged\n", short(&echo)));
    assert_eq!(repo.read("workflow.yaml"), filled(AFTER));
}

#[test]
fn check_changes_nothing_and_exits_1_while_a_pin_is_stale() {
    let repo = repo_with_plugins();
    repo.workflow(&filled(BEFORE));
    let r = repo.run(&["plugin", "pin", "workflow.yaml", "--check"]);
    r.exits(1)
        .stdout_has("stage hello: sha256 abababababab… is stale (line 7; the file's is ")
        .stderr_has("error: 3 pins are stale; `engine plugin pin workflow.yaml` updates them");
    assert_eq!(repo.read("workflow.yaml"), filled(BEFORE));
    repo.run(&["plugin", "pin", "workflow.yaml"]).succeeds();
    let r = repo.run(&["plugin", "pin", "workflow.yaml", "--check"]);
    r.succeeds();
    assert_eq!(r.stderr(), "");
}

#[test]
fn only_the_named_stage_is_pinned() {
    let repo = repo_with_plugins();
    repo.workflow(&filled(BEFORE));
    let r = repo.run(&["plugin", "pin", "workflow.yaml", "write"]);
    r.succeeds();
    assert_eq!(
        r.stdout(),
        format!(
            "stage write: sha256 (none) -> {}\n",
            short(&fixture("fixture_write").1)
        )
    );
    let expected = filled(BEFORE).replace(
        "\"plugins/write.wasm\", permissions",
        &filled("\"plugins/write.wasm\", sha256: {WRITE}, permissions"),
    );
    assert_eq!(repo.read("workflow.yaml"), expected);
    let r = repo.run(&["plugin", "pin", "workflow.yaml", "nope"]);
    r.exits(2).stderr_is(
        "error: workflow.yaml: no stage \"nope\" (its stages: hello, write, gate, again)\n",
    );
    let r = repo.run(&["plugin", "pin", "workflow.yaml", "gate"]);
    r.exits(2).stderr_is(
        "error: workflow.yaml:13: stages.gate.uses: stage gate uses builtin:gate, a built-in: \
         only a .wasm file has a sha256 pin\n",
    );
}

#[test]
fn a_missing_plugin_file_is_named_with_its_line() {
    let repo = repo_with_plugins();
    let text = filled(
        "name: x\nstages:\n  one:\n    uses: plugins/echo.wasm\n    sha256: {STALE}\n  two:\n    \
         uses: plugins/gone.wasm\n    sha256: {STALE}\n",
    );
    repo.workflow(&text);
    let r = repo.run(&["plugin", "pin", "workflow.yaml"]);
    r.exits(2).stderr_is(
        "error: workflow.yaml:7: stages.two.uses: cannot read the plugin plugins/gone.wasm: No \
         such file or directory (os error 2)\n",
    );
    assert_eq!(repo.read("workflow.yaml"), text);
}

#[test]
fn a_workflow_that_does_not_load_is_reported_and_left_alone() {
    let repo = repo_with_plugins();
    let broken = "name: x\nstages:\n  one:\n    uses: plugins/echo.wasm\n    sha256: [\n";
    repo.workflow(broken);
    let r = repo.run(&["plugin", "pin", "workflow.yaml"]);
    r.exits(2)
        .stderr_has("workflow.yaml:")
        .stderr_has("error: the workflow is invalid (1 problem)");
    assert_eq!(repo.read("workflow.yaml"), broken);
    let typo = filled("name: x\nstages:\n  one:\n    uses: plugins/echo.wasm\n    neds: [x]\n");
    repo.workflow(&typo);
    let r = repo.run(&["plugin", "pin", "workflow.yaml"]);
    r.exits(2)
        .stderr_has("workflow.yaml:5:5: stages.one: unknown field \"neds\"");
    assert_eq!(repo.read("workflow.yaml"), typo);
}

#[test]
fn a_symbolic_link_to_the_workflow_stays_a_link() {
    let repo = repo_with_plugins();
    repo.write("real.yaml", &filled(BEFORE));
    std::os::unix::fs::symlink("real.yaml", repo.path().join("workflow.yaml")).unwrap();
    repo.run(&["plugin", "pin", "workflow.yaml"]).succeeds();
    let link = std::fs::symlink_metadata(repo.path().join("workflow.yaml")).unwrap();
    assert!(link.file_type().is_symlink());
    assert_eq!(repo.read("real.yaml"), filled(AFTER));
}
