//! A plugin project's `.engine/`: this engine's WIT (`wit/`) and the SDK of the project's
//! language (`sdk/<lang>/`), written by `engine plugin new` and brought up to date by every
//! `engine plugin build`.
//!
//! Only `wit/` and `sdk/<lang>/` are engine's here: `.engine/` may also be the state directory
//! of runs in the same repository, whose entries are never touched. Each of the two is replaced
//! whole: written next to it as `.NAME.new`, then swapped in (the old one renamed to
//! `.NAME.old`, then removed), so an interrupted refresh leaves either the old or the new
//! content, or none — and the next build writes it again. A directory whose content already is
//! what this engine carries is left alone, so cargo does not rebuild the SDK crates for nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{ScaffoldError, embedded, io, remove_dir, standalone};
use crate::plugin::build::Lang;

/// The project's engine directory's name.
pub const ENGINE_DIR: &str = ".engine";

/// Writes this engine's WIT and the SDK of `lang` into `<project>/.engine/` (unless they are
/// already there, byte for byte) and returns that directory. An SDK this engine does not carry
/// is not written.
pub fn refresh(project: &Path, lang: Lang) -> Result<PathBuf, ScaffoldError> {
    let engine_dir = project.join(ENGINE_DIR);
    replace_dir(&engine_dir.join("wit"), &contents("wit"))?;
    let sdk = sdk_files(lang)?;
    if !sdk.is_empty() {
        replace_dir(&engine_dir.join("sdk").join(lang.name()), &sdk)?;
    }
    Ok(engine_dir)
}

/// The files of `lang`'s SDK, by path below `.engine/sdk/<lang>/`.
fn sdk_files(lang: Lang) -> Result<BTreeMap<String, Vec<u8>>, ScaffoldError> {
    match lang {
        Lang::Python => Ok(contents("sdk/python")),
        Lang::Js => Ok(contents("sdk/js")),
        Lang::Rust => {
            let workspace_manifest = embedded::file("plugins/Cargo.toml")
                .map(String::from_utf8_lossy)
                .ok_or_else(|| ScaffoldError::Embedded("plugins/Cargo.toml is missing".into()))?;
            let workspace = standalone::Workspace::parse(&workspace_manifest);
            let mut files = BTreeMap::new();
            for krate in ["sdk", "source-sdk"] {
                let origin = format!("plugins/{krate}");
                for entry in embedded::tree(&format!("sdk/rust/{krate}")) {
                    let bytes = if entry.path == "Cargo.toml" {
                        standalone::manifest(
                            &String::from_utf8_lossy(entry.bytes),
                            &workspace,
                            &origin,
                        )
                        .map_err(ScaffoldError::Embedded)?
                        .into_bytes()
                    } else if Path::new(entry.path)
                        .extension()
                        .is_some_and(|ext| ext.eq_ignore_ascii_case("rs"))
                    {
                        let text = String::from_utf8_lossy(entry.bytes);
                        standalone::source(&text)
                            .map_or_else(|| entry.bytes.to_vec(), String::into_bytes)
                    } else {
                        entry.bytes.to_vec()
                    };
                    files.insert(format!("{krate}/{}", entry.path), bytes);
                }
            }
            Ok(files)
        }
    }
}

/// The embedded files below `dir`, by relative path.
fn contents(dir: &str) -> BTreeMap<String, Vec<u8>> {
    embedded::tree(dir)
        .into_iter()
        .map(|e| (e.path.to_string(), e.bytes.to_vec()))
        .collect()
}

/// Makes `dir` hold exactly `files`: left alone when it already does, otherwise replaced whole
/// by a directory written beside it.
pub(super) fn replace_dir(
    dir: &Path,
    files: &BTreeMap<String, Vec<u8>>,
) -> Result<(), ScaffoldError> {
    if holds_exactly(dir, files) {
        return Ok(());
    }
    let parent = dir.parent().unwrap_or(Path::new("."));
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let fresh = parent.join(format!(".{name}.new"));
    let old = parent.join(format!(".{name}.old"));
    for leftover in [&fresh, &old] {
        remove_dir(leftover)?;
    }
    for (path, bytes) in files {
        let target = fresh.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|source| io(parent, source))?;
        }
        std::fs::write(&target, bytes).map_err(|source| io(&target, source))?;
    }
    std::fs::create_dir_all(&fresh).map_err(|source| io(&fresh, source))?;
    if dir.exists() {
        std::fs::rename(dir, &old).map_err(|source| io(dir, source))?;
    }
    std::fs::rename(&fresh, dir).map_err(|source| io(dir, source))?;
    remove_dir(&old)
}

/// Whether `dir` holds exactly `files` (the same paths, the same bytes) and nothing else.
fn holds_exactly(dir: &Path, files: &BTreeMap<String, Vec<u8>>) -> bool {
    let mut found = 0;
    let mut todo = vec![dir.to_path_buf()];
    while let Some(current) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            return false;
        };
        for entry in entries {
            let Ok(entry) = entry else {
                return false;
            };
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                return false;
            };
            if kind.is_dir() {
                // Python writes bytecode caches next to the SDK it imports on every build: they
                // are not a change of the SDK.
                if entry.file_name() != "__pycache__" {
                    todo.push(path);
                }
                continue;
            }
            let Some(rel) = path
                .strip_prefix(dir)
                .ok()
                .and_then(|p| p.to_str())
                .map(|p| p.replace(std::path::MAIN_SEPARATOR, "/"))
            else {
                return false;
            };
            match files.get(&rel) {
                Some(expected) if std::fs::read(&path).is_ok_and(|b| &b == expected) => found += 1,
                _ => return false,
            }
        }
    }
    found == files.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(p, t)| ((*p).to_string(), t.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn a_refresh_writes_the_wit_and_the_standalone_rust_sdk() {
        let project = tempfile::tempdir().unwrap();
        let dir = refresh(project.path(), Lang::Rust).unwrap();
        assert_eq!(dir, project.path().join(".engine"));
        assert!(dir.join("wit/stage.wit").is_file());
        assert!(dir.join("wit/source.wit").is_file());
        let manifest = std::fs::read_to_string(dir.join("sdk/rust/sdk/Cargo.toml")).unwrap();
        assert!(!manifest.contains("workspace"), "{manifest}");
        let bindings =
            std::fs::read_to_string(dir.join("sdk/rust/source-sdk/src/bindings.rs")).unwrap();
        assert!(bindings.contains("\"../../../wit\""));
        assert!(!dir.join("sdk/python").exists() && !dir.join("sdk/js").exists());
    }

    #[test]
    fn a_replacement_removes_stale_files_and_keeps_the_neighbours() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("wit");
        std::fs::create_dir_all(dir.join("old")).unwrap();
        std::fs::write(dir.join("old/stale.wit"), "x").unwrap();
        std::fs::write(root.path().join("runs"), "state of runs").unwrap();
        replace_dir(&dir, &files(&[("stage.wit", "new"), ("deps/a.wit", "a")])).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("stage.wit")).unwrap(),
            "new"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("deps/a.wit")).unwrap(),
            "a"
        );
        assert!(!dir.join("old").exists());
        assert_eq!(
            std::fs::read_to_string(root.path().join("runs")).unwrap(),
            "state of runs"
        );
        let mut names: Vec<String> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["runs", "wit"]);
    }

    #[test]
    fn an_interrupted_refresh_is_completed_by_the_next() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("wit");
        // Killed after the old content was moved aside and before the new one was moved in.
        std::fs::create_dir_all(root.path().join(".wit.old")).unwrap();
        std::fs::create_dir_all(root.path().join(".wit.new")).unwrap();
        std::fs::write(root.path().join(".wit.new/half"), "x").unwrap();
        replace_dir(&dir, &files(&[("stage.wit", "new")])).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("stage.wit")).unwrap(),
            "new"
        );
        assert!(!root.path().join(".wit.old").exists());
        assert!(!root.path().join(".wit.new").exists());
        assert!(!dir.join("half").exists());
    }

    #[test]
    fn content_already_in_place_is_not_rewritten() {
        use std::os::unix::fs::MetadataExt as _;
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("sdk");
        let wanted = files(&[("a.rs", "a"), ("src/b.rs", "b")]);
        replace_dir(&dir, &wanted).unwrap();
        let inode = std::fs::metadata(dir.join("src/b.rs")).unwrap().ino();
        replace_dir(&dir, &wanted).unwrap();
        assert_eq!(
            std::fs::metadata(dir.join("src/b.rs")).unwrap().ino(),
            inode
        );
        // A file too many, or a changed byte, means a rewrite.
        std::fs::write(dir.join("extra"), "x").unwrap();
        replace_dir(&dir, &wanted).unwrap();
        assert!(!dir.join("extra").exists());
        std::fs::write(dir.join("a.rs"), "changed").unwrap();
        replace_dir(&dir, &wanted).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("a.rs")).unwrap(), "a");
    }

    #[test]
    fn python_bytecode_caches_are_not_a_change() {
        use std::os::unix::fs::MetadataExt as _;
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("python");
        let wanted = files(&[("engine_stage/__init__.py", "x = 1\n")]);
        replace_dir(&dir, &wanted).unwrap();
        let inode = std::fs::metadata(dir.join("engine_stage/__init__.py"))
            .unwrap()
            .ino();
        // What componentize-py's interpreter leaves after importing the SDK.
        std::fs::create_dir(dir.join("engine_stage/__pycache__")).unwrap();
        std::fs::write(
            dir.join("engine_stage/__pycache__/__init__.cpython-312.pyc"),
            "bytecode",
        )
        .unwrap();
        replace_dir(&dir, &wanted).unwrap();
        assert_eq!(
            std::fs::metadata(dir.join("engine_stage/__init__.py"))
                .unwrap()
                .ino(),
            inode
        );
    }
}
