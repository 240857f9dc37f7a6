//! Pins rewritten in place on real files: the rest of the text byte for byte, every form a pin
//! is written in, and the refusals.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::*;

const OLD: &str = "abababababababababababababababababababababababababababababababab";

struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    /// A directory with `a.wasm` and `b.wasm`.
    fn new() -> Dir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.wasm"), "component a").unwrap();
        std::fs::write(dir.path().join("b.wasm"), "component b").unwrap();
        Dir { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn workflow(&self, text: &str) -> PathBuf {
        let path = self.path().join("w.yaml");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn read(&self) -> String {
        std::fs::read_to_string(self.path().join("w.yaml")).unwrap()
    }
}

fn sha(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn with_shas(text: &str) -> String {
    text.replace("{A}", &sha("component a"))
        .replace("{B}", &sha("component b"))
        .replace("{OLD}", OLD)
}

const BEFORE: &str = "# pins of the demo\nname:   demo   # odd spacing\nstages:\n  hello:   # first\n    uses: ./a.wasm        # the plugin\n    sha256: \"{OLD}\"   # stale\n    with:   { sha256: keep }\n  gate:\n    uses: builtin:gate\n    with: { commands: [] }\n  flow: { uses: 'b.wasm', needs: [hello] }\n  bare:\n      needs: hello\n      uses: b.wasm\n      timeout: 5m\nfinally:\n  last:\n    uses: a.wasm\n    sha256:    # fill in\n";

const AFTER: &str = "# pins of the demo\nname:   demo   # odd spacing\nstages:\n  hello:   # first\n    uses: ./a.wasm        # the plugin\n    sha256: \"{A}\"   # stale\n    with:   { sha256: keep }\n  gate:\n    uses: builtin:gate\n    with: { commands: [] }\n  flow: { uses: 'b.wasm', sha256: {B}, needs: [hello] }\n  bare:\n      needs: hello\n      uses: b.wasm\n      sha256: {B}\n      timeout: 5m\nfinally:\n  last:\n    uses: a.wasm\n    sha256: {A}    # fill in\n";

#[test]
fn every_pin_is_rewritten_and_nothing_else() {
    let dir = Dir::new();
    let workflow = dir.workflow(&with_shas(BEFORE));
    let changes = pin_workflow(&workflow, None).unwrap();
    assert_eq!(dir.read(), with_shas(AFTER));
    let lines: Vec<String> = changes.iter().map(|c| c.describe(false)).collect();
    let short = |s: &str| format!("{}…", &s[..12]);
    assert_eq!(
        lines,
        [
            format!(
                "stage hello: sha256 {} -> {}",
                short(OLD),
                short(&sha("component a"))
            ),
            format!(
                "stage flow: sha256 (none) -> {}",
                short(&sha("component b"))
            ),
            format!(
                "stage bare: sha256 (none) -> {}",
                short(&sha("component b"))
            ),
            format!(
                "stage last: sha256 (none) -> {}",
                short(&sha("component a"))
            ),
        ]
    );
    let at: Vec<usize> = changes.iter().map(|c| c.line).collect();
    assert_eq!(at, [6, 11, 15, 20]);
    // Again: every pin is current, the file is not touched.
    let modified = std::fs::metadata(&workflow).unwrap().modified().unwrap();
    let changes = pin_workflow(&workflow, None).unwrap();
    assert!(changes.iter().all(|c| !c.changed()), "{changes:?}");
    assert_eq!(
        changes[0].describe(false),
        format!(
            "stage hello: sha256 {} unchanged",
            short(&sha("component a"))
        )
    );
    assert_eq!(
        std::fs::metadata(&workflow).unwrap().modified().unwrap(),
        modified
    );
}

#[test]
fn check_changes_nothing_and_names_the_stale_pins() {
    let dir = Dir::new();
    let before = with_shas(BEFORE);
    let workflow = dir.workflow(&before);
    let options = PinOptions {
        selection: PinSelection::All,
        check: true,
    };
    let changes = pin(&workflow, &options).unwrap();
    assert_eq!(dir.read(), before);
    assert_eq!(changes.iter().filter(|c| c.changed()).count(), 4);
    assert!(
        changes[0]
            .describe(true)
            .contains("is stale (line 6; the file's is "),
        "{}",
        changes[0].describe(true)
    );
}

#[test]
fn one_named_stage_only() {
    let dir = Dir::new();
    let workflow = dir.workflow(&with_shas(BEFORE));
    let changes = pin_workflow(&workflow, Some("last")).unwrap();
    assert_eq!(changes.len(), 1);
    let expected = with_shas(BEFORE).replace(
        "    sha256:    # fill in\n",
        &format!("    sha256: {}    # fill in\n", sha("component a")),
    );
    assert_eq!(dir.read(), expected);
}

#[test]
fn unknown_and_builtin_stages_are_refused() {
    let dir = Dir::new();
    let workflow = dir.workflow(&with_shas(BEFORE));
    let e = pin_workflow(&workflow, Some("helo"))
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with("w.yaml: no stage \"helo\" (its stages: hello, gate, flow, bare, last)"),
        "{e}"
    );
    let e = pin_workflow(&workflow, Some("gate"))
        .unwrap_err()
        .to_string();
    assert!(e.ends_with("w.yaml:9: stages.gate.uses: stage gate uses builtin:gate, a built-in: only a .wasm file has a sha256 pin"), "{e}");
}

#[test]
fn a_missing_plugin_file_names_its_line() {
    let dir = Dir::new();
    let text = "name: x\nstages:\n  one:\n    uses: a.wasm\n    sha256: {OLD}\n  two:\n    uses: gone.wasm\n    sha256: {OLD}\n";
    let workflow = dir.workflow(&with_shas(text));
    let e = pin_workflow(&workflow, None).unwrap_err().to_string();
    assert!(
        e.contains("w.yaml:7: stages.two.uses: cannot read the plugin "),
        "{e}"
    );
    assert!(e.contains("gone.wasm: No such file"), "{e}");
    assert_eq!(dir.read(), with_shas(text));
}

#[test]
fn other_problems_are_reported_and_nothing_is_written() {
    let dir = Dir::new();
    let text = "name: x\nstages:\n  one:\n    uses: a.wasm\n    sha256: nope\n    neds: [x]\n";
    let workflow = dir.workflow(text);
    let e = pin_workflow(&workflow, None).unwrap_err();
    let PinError::Invalid(diagnostics) = &e else {
        panic!("{e}");
    };
    assert_eq!(diagnostics.0.len(), 1, "{e}");
    assert!(
        diagnostics.0[0]
            .to_string()
            .contains("w.yaml:6:5: stages.one: unknown field \"neds\""),
        "{e}"
    );
    assert_eq!(dir.read(), text);
    let broken = dir.workflow("name: x\nstages: [\n");
    assert!(matches!(
        pin_workflow(&broken, None),
        Err(PinError::Invalid(_))
    ));
}

#[test]
fn crlf_a_byte_order_mark_and_no_final_line_break_are_kept() {
    let dir = Dir::new();
    let text = "\u{feff}name: x\r\nstages:\r\n  one:\r\n    uses: \"a.wasm\"";
    let workflow = dir.workflow(text);
    pin_workflow(&workflow, None).unwrap();
    assert_eq!(
        dir.read(),
        format!("{text}\r\n    sha256: {}", sha("component a"))
    );
}

#[test]
fn a_stale_pin_behind_an_alias_is_refused_with_its_value() {
    let dir = Dir::new();
    let text = "name: x\nstages:\n  one: &p\n    uses: a.wasm\n    sha256: {A}\n  two: *p\n";
    let workflow = dir.workflow(&with_shas(text));
    assert!(
        pin_workflow(&workflow, None)
            .unwrap()
            .iter()
            .all(|c| !c.changed())
    );
    // An alias of a stale pin: the anchor's pin is rewritten, which the alias reads too.
    let stale = "name: x\nstages:\n  one: &p\n    uses: a.wasm\n    sha256: {OLD}\n  two: *p\n";
    let workflow = dir.workflow(&with_shas(stale));
    pin_workflow(&workflow, None).unwrap();
    assert_eq!(dir.read(), with_shas(text));
    // A pin that is an alias itself is not rewritten.
    let aliased =
        "name: x\nstages:\n  one:\n    uses: a.wasm\n    with: { pin: &s {OLD} }\n    sha256: *s\n";
    let workflow = dir.workflow(&with_shas(aliased));
    let e = pin_workflow(&workflow, None).unwrap_err().to_string();
    assert!(
        e.contains(":6: stages.one.sha256: the pin is an alias"),
        "{e}"
    );
    assert!(e.contains(&sha("component a")), "{e}");
}

#[test]
fn the_task_source_is_pinned_too() {
    let dir = Dir::new();
    let text = "name: x\ntasks:\n  source: b.wasm   # ours\n  path: t.md\nstages:\n  one: { uses: builtin:gate, with: { commands: [] } }\n";
    let workflow = dir.workflow(text);
    let change = pin_task_source(&workflow).unwrap();
    assert_eq!(change.target, PinTarget::TaskSource);
    assert_eq!(
        change.describe(false).split(':').next(),
        Some("tasks.source")
    );
    assert_eq!(
        dir.read(),
        text.replace(
            "  source: b.wasm   # ours\n",
            &format!(
                "  source: b.wasm   # ours\n  sha256: {}\n",
                sha("component b")
            )
        )
    );
    let builtin = dir.workflow("name: x\ntasks: { source: tasks-md }\nstages:\n  one: { uses: builtin:gate, with: { commands: [] } }\n");
    assert!(matches!(
        pin_task_source(&builtin),
        Err(PinError::NoTaskSource { .. })
    ));
    assert!(pin_workflow(&builtin, None).unwrap().is_empty());
}
