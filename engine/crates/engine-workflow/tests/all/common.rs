//! Helpers shared by the fixture suites.

use std::path::{Path, PathBuf};

/// The `.yaml` files of `tests/fixtures/<dir>`, sorted, as paths relative to the crate root
/// (integration tests run there), so snapshots do not depend on the checkout's location.
pub fn fixtures(dir: &str) -> Vec<PathBuf> {
    let root = Path::new("tests/fixtures").join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", root.display());
    files
}

/// The file name without `.yaml`, used as the snapshot name.
pub fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}
