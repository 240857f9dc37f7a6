//! Golden diagnostics: every file in `tests/fixtures/invalid` fails to load, and the rendered
//! diagnostics match the snapshot in `tests/snapshots`.

use crate::common;

use engine_workflow::load_file;

#[test]
fn invalid_fixtures_match_their_snapshots() {
    for path in common::fixtures("invalid") {
        let Err(diagnostics) = load_file(&path) else {
            panic!("{} loaded but must fail", path.display())
        };
        assert!(!diagnostics.0.is_empty(), "{}", path.display());
        for diagnostic in &diagnostics.0 {
            assert!(diagnostic.line >= 1 && diagnostic.col >= 1, "{diagnostic}");
            assert_eq!(diagnostic.file, path.display().to_string());
        }
        insta::assert_snapshot!(common::stem(&path), diagnostics.to_string());
    }
}

#[test]
fn unreadable_file_is_one_diagnostic_at_line_zero() {
    let path = std::path::Path::new("tests/fixtures/does-not-exist.yaml");
    let diagnostics = load_file(path).unwrap_err();
    assert_eq!(diagnostics.0.len(), 1);
    let only = &diagnostics.0[0];
    assert_eq!((only.line, only.col), (0, 0));
    assert!(
        only.to_string()
            .starts_with("tests/fixtures/does-not-exist.yaml:0:0: cannot read the workflow file:"),
        "{only}"
    );
}
