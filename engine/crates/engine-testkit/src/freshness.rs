//! Whether the last nested build of a component workspace is still up to date, decided without
//! running cargo.
//!
//! A build leaves a stamp file whose modification time is the moment the build started. The
//! components are up to date when every member's component and cargo's dep-info file next to it
//! (`<name>.d`, which lists every source and WIT file the component was built from) exist, and
//! none of those inputs was modified since the stamp, nor a manifest around them, the
//! workspace's `Cargo.toml` and `Cargo.lock`, or the repository's `rust-toolchain.toml`.
//! Anything else (a missing or unreadable file) counts as out of date: cargo then decides.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use engine_wasm_build::ComponentPackage;

/// The inputs of one component workspace that dep-info files do not list.
pub(crate) struct Inputs {
    /// Files every build depends on: the workspace manifest and lock file, the toolchain file.
    fixed: Vec<PathBuf>,
    /// Manifests are looked for in the directories of the inputs up to here, excluded.
    root: PathBuf,
}

impl Inputs {
    /// The inputs of the workspace in `workspace`, inside the repository at `root`.
    pub(crate) fn of_workspace(workspace: &Path, root: &Path) -> Inputs {
        let mut fixed = vec![workspace.join("Cargo.toml"), workspace.join("Cargo.lock")];
        let toolchain = root.join("rust-toolchain.toml");
        if toolchain.is_file() {
            fixed.push(toolchain);
        }
        Inputs {
            fixed,
            root: root.to_path_buf(),
        }
    }

    /// Whether the components of `packages` in `artifacts` were built from inputs none of which
    /// changed since `stamp` was written.
    pub(crate) fn up_to_date(
        &self,
        stamp: &Path,
        artifacts: &Path,
        packages: &[ComponentPackage],
    ) -> bool {
        let Ok(stamped) = fs::metadata(stamp).and_then(|m| m.modified()) else {
            return false;
        };
        let mut inputs: BTreeSet<PathBuf> = self.fixed.iter().cloned().collect();
        for package in packages {
            let component = artifacts.join(package.artifact_name());
            if !component.is_file() {
                return false;
            }
            let Ok(dep_info) = fs::read_to_string(component.with_extension("d")) else {
                return false;
            };
            let Some(sources) = dep_info_sources(&dep_info) else {
                return false;
            };
            inputs.insert(package.dir.join("Cargo.toml"));
            for source in sources {
                inputs.extend(self.manifests_around(&source));
                inputs.insert(source);
            }
        }
        inputs.iter().all(|input| modified_before(input, stamped))
    }

    /// The `Cargo.toml` files of the directories holding `source`, below the root: its
    /// package's and, for a path dependency, its own workspace's.
    fn manifests_around(&self, source: &Path) -> Vec<PathBuf> {
        source
            .ancestors()
            .skip(1)
            .take_while(|dir| dir.starts_with(&self.root) && *dir != self.root)
            .map(|dir| dir.join("Cargo.toml"))
            .filter(|manifest| manifest.is_file())
            .collect()
    }
}

/// Whether `path` exists and was last modified strictly before `stamped` (equal times count
/// as changed: on a file system with coarse times an edit may share the stamp's second).
fn modified_before(path: &Path, stamped: SystemTime) -> bool {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|modified| modified < stamped)
}

/// The prerequisites of a make-style dep-info file as cargo writes it for an artifact
/// (`/path/x.wasm: /src/a.rs /src/b\ c.rs`, spaces in names escaped with a backslash), or
/// `None` if it has no rule.
fn dep_info_sources(dep_info: &str) -> Option<Vec<PathBuf>> {
    let line = dep_info.lines().find(|line| line.contains(": "))?;
    let (_target, rest) = line.split_once(": ")?;
    let mut sources = Vec::new();
    let mut current = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) => current.push(escaped),
                None => current.push('\\'),
            },
            ' ' | '\t' => {
                if !current.is_empty() {
                    sources.push(PathBuf::from(std::mem::take(&mut current)));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        sources.push(PathBuf::from(current));
    }
    Some(sources)
}

/// Writes the stamp of a build that started at `started`.
pub(crate) fn write_stamp(stamp: &Path, started: SystemTime) -> io::Result<()> {
    File::create(stamp)?.set_modified(started)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A repository with a fixture workspace of one component, built at `BUILT` and stamped
    /// after.
    struct Built {
        root: tempfile::TempDir,
        packages: Vec<ComponentPackage>,
    }

    const BUILT: Duration = Duration::from_secs(1_000_000);

    impl Built {
        fn new() -> Built {
            let root = tempfile::tempdir().unwrap();
            let at = |path: &str, text: &str| {
                let path = root.path().join(path);
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(&path, text).unwrap();
            };
            at("rust-toolchain.toml", "[toolchain]\n");
            at("Cargo.toml", "[workspace]\n");
            at("fx/Cargo.toml", "[workspace]\n");
            at("fx/Cargo.lock", "");
            at(
                "fx/echo/Cargo.toml",
                "[package]\nname = \"fx-echo\"\n[lib]\ncrate-type = [\"cdylib\"]\n",
            );
            at("fx/echo/src/lib.rs", "");
            at("sdk/Cargo.toml", "[package]\nname = \"sdk\"\n");
            at("sdk/src/my lib.rs", "");
            at("wit/stage.wit", "");
            let src = |p: &str| root.path().join(p).display().to_string();
            at("out/fx_echo.wasm", "");
            at(
                "out/fx_echo.d",
                &format!(
                    "{}: {} {} {}\n",
                    src("out/fx_echo.wasm"),
                    src("fx/echo/src/lib.rs"),
                    src("sdk/src/my lib.rs").replace(' ', "\\ "),
                    src("wit/stage.wit"),
                ),
            );
            let built = Built {
                packages: engine_wasm_build::component_packages(&root.path().join("fx")).unwrap(),
                root,
            };
            for file in [
                "rust-toolchain.toml",
                "Cargo.toml",
                "fx/Cargo.toml",
                "fx/Cargo.lock",
                "fx/echo/Cargo.toml",
                "fx/echo/src/lib.rs",
                "sdk/Cargo.toml",
                "sdk/src/my lib.rs",
                "wit/stage.wit",
            ] {
                built.touch(file, BUILT);
            }
            write_stamp(
                &built.stamp(),
                SystemTime::UNIX_EPOCH + BUILT + Duration::from_secs(1),
            )
            .unwrap();
            built
        }

        fn touch(&self, file: &str, since_epoch: Duration) {
            File::options()
                .write(true)
                .open(self.root.path().join(file))
                .unwrap()
                .set_modified(SystemTime::UNIX_EPOCH + since_epoch)
                .unwrap();
        }

        fn stamp(&self) -> PathBuf {
            self.root.path().join("out/stamp")
        }

        fn up_to_date(&self) -> bool {
            Inputs::of_workspace(&self.root.path().join("fx"), self.root.path()).up_to_date(
                &self.stamp(),
                &self.root.path().join("out"),
                &self.packages,
            )
        }
    }

    #[test]
    fn components_built_after_their_last_change_are_up_to_date() {
        assert!(Built::new().up_to_date());
    }

    #[test]
    fn any_input_changed_since_the_stamp_asks_for_a_build() {
        for file in [
            "fx/echo/src/lib.rs",
            "sdk/src/my lib.rs",
            "wit/stage.wit",
            "fx/echo/Cargo.toml",
            "sdk/Cargo.toml",
            "fx/Cargo.toml",
            "fx/Cargo.lock",
            "rust-toolchain.toml",
        ] {
            let built = Built::new();
            built.touch(file, BUILT + Duration::from_secs(5));
            assert!(!built.up_to_date(), "{file} changed");
        }
    }

    #[test]
    fn the_repository_manifest_is_not_an_input() {
        let built = Built::new();
        built.touch("Cargo.toml", BUILT + Duration::from_secs(5));
        assert!(built.up_to_date());
    }

    #[test]
    fn a_missing_stamp_component_dep_info_or_input_asks_for_a_build() {
        for file in [
            "out/stamp",
            "out/fx_echo.wasm",
            "out/fx_echo.d",
            "wit/stage.wit",
        ] {
            let built = Built::new();
            fs::remove_file(built.root.path().join(file)).unwrap();
            assert!(!built.up_to_date(), "{file} removed");
        }
    }

    #[test]
    fn a_dep_info_file_lists_its_sources_with_escaped_spaces() {
        assert_eq!(
            dep_info_sources("/t/x.wasm: /a/b.rs /c/d\\ e.rs\n").unwrap(),
            [PathBuf::from("/a/b.rs"), PathBuf::from("/c/d e.rs")]
        );
        assert_eq!(dep_info_sources("no rule here\n"), None);
    }
}
