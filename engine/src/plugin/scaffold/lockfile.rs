//! A new Rust plugin project's `Cargo.lock`, cut from the plugins workspace's lock: the same
//! dependency versions the engine's built-in stages are built and tested with, so a new project
//! builds without asking the registry what to use (offline, from cargo's cache, when the crates
//! are there).

use std::cmp::Ordering;
use std::fmt::Write as _;

/// One `[[package]]` of a lock file.
#[derive(Debug, Clone)]
struct Package {
    name: String,
    version: String,
    source: Option<String>,
    checksum: Option<String>,
    /// Dependencies as written: `name` or `name version` (or with ` (source)`).
    dependencies: Vec<String>,
}

/// The project's package: its name, version and direct dependencies (by name), read from its
/// `Cargo.toml`.
#[derive(Debug)]
pub(crate) struct Root {
    /// The package name.
    pub(crate) name: String,
    /// Its version.
    pub(crate) version: String,
    /// Names of its `[dependencies]`.
    pub(crate) dependencies: Vec<String>,
}

impl Root {
    /// Reads the package name, version and dependency names of a simple `Cargo.toml` (one
    /// `key = value` per line); `None` when one of them is missing.
    pub(crate) fn from_manifest(manifest: &str) -> Option<Root> {
        let mut section = "";
        let (mut name, mut version) = (None, None);
        let mut dependencies = Vec::new();
        for line in manifest.lines().map(str::trim) {
            if line.starts_with('[') {
                section = line;
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let (key, value) = (key.trim(), value.trim().trim_matches('"'));
            if key.starts_with('#') {
                continue;
            }
            match section {
                "[package]" if key == "name" => name = Some(value.to_string()),
                "[package]" if key == "version" => version = Some(value.to_string()),
                "[dependencies]" => dependencies.push(key.split('.').next()?.to_string()),
                _ => {}
            }
        }
        Some(Root {
            name: name?,
            version: version?,
            dependencies,
        })
    }
}

/// The lock file of a project whose package is `root`, holding the packages of `workspace_lock`
/// that `root` needs; `None` when a dependency of `root` is not in that lock (cargo then
/// resolves it itself on the first build).
pub(crate) fn for_project(workspace_lock: &str, root: &Root) -> Option<String> {
    let all = parse(workspace_lock)?;
    let mut keep = vec![false; all.len()];
    let mut todo: Vec<usize> = Vec::new();
    for dependency in &root.dependencies {
        todo.push(find(&all, dependency)?);
    }
    while let Some(index) = todo.pop() {
        if keep[index] {
            continue;
        }
        keep[index] = true;
        for dependency in &all[index].dependencies {
            todo.push(find(&all, dependency)?);
        }
    }
    let mut packages: Vec<Package> = all
        .into_iter()
        .zip(keep)
        .filter_map(|(package, kept)| kept.then_some(package))
        .collect();
    let project = Package {
        name: root.name.clone(),
        version: root.version.clone(),
        source: None,
        checksum: None,
        dependencies: root.dependencies.clone(),
    };
    let at = packages
        .iter()
        .position(|p| order(p, &project) == Ordering::Greater)
        .unwrap_or(packages.len());
    packages.insert(at, project);
    Some(render(&packages))
}

/// The packages of a lock file (format version 3 or 4), in its order.
fn parse(lock: &str) -> Option<Vec<Package>> {
    let mut packages = Vec::new();
    let mut current: Option<Package> = None;
    let mut in_dependencies = false;
    for line in lock.lines().map(str::trim) {
        if line == "[[package]]" {
            packages.extend(current.take());
            current = Some(Package {
                name: String::new(),
                version: String::new(),
                source: None,
                checksum: None,
                dependencies: Vec::new(),
            });
            continue;
        }
        let Some(package) = current.as_mut() else {
            continue;
        };
        if in_dependencies {
            if line == "]" {
                in_dependencies = false;
            } else {
                package
                    .dependencies
                    .push(line.trim_end_matches(',').trim_matches('"').to_string());
            }
            continue;
        }
        if line.starts_with('[') {
            // `[metadata]` or another table: the packages are over.
            packages.extend(current.take());
            continue;
        }
        let Some((key, value)) = line.split_once(" = ") else {
            continue;
        };
        let text = value.trim_matches('"').to_string();
        match key {
            "name" => package.name = text,
            "version" => package.version = text,
            "source" => package.source = Some(text),
            "checksum" => package.checksum = Some(text),
            "dependencies" if value == "[" => in_dependencies = true,
            "dependencies" if value == "[]" => {}
            _ => return None,
        }
    }
    packages.extend(current);
    Some(packages)
}

/// The package a dependency entry (`name`, `name version`, `name version (source)`) means.
fn find(packages: &[Package], entry: &str) -> Option<usize> {
    let mut parts = entry.split(' ');
    let name = parts.next()?;
    let version = parts.next();
    let mut matching = packages
        .iter()
        .enumerate()
        .filter(|(_, p)| p.name == name && version.is_none_or(|v| p.version == v));
    let (index, _) = matching.next()?;
    // An unqualified name must be the only package of that name.
    matching.next().is_none().then_some(index)
}

/// The lock file's text, as cargo writes it (format version 4): a dependency is named by its
/// name alone unless several versions of it are locked.
fn render(packages: &[Package]) -> String {
    let mut out = String::from(
        "# This file is automatically @generated by Cargo.\n\
         # It is not intended for manual editing.\nversion = 4\n",
    );
    for package in packages {
        let _ = write!(
            out,
            "\n[[package]]\nname = \"{}\"\nversion = \"{}\"\n",
            package.name, package.version
        );
        if let Some(source) = &package.source {
            let _ = writeln!(out, "source = \"{source}\"");
        }
        if let Some(checksum) = &package.checksum {
            let _ = writeln!(out, "checksum = \"{checksum}\"");
        }
        if package.dependencies.is_empty() {
            continue;
        }
        let mut names: Vec<String> = package
            .dependencies
            .iter()
            .filter_map(|entry| {
                let index = find(packages, entry)?;
                let target = &packages[index];
                let versions = packages.iter().filter(|p| p.name == target.name).count();
                Some(if versions > 1 {
                    format!("{} {}", target.name, target.version)
                } else {
                    target.name.clone()
                })
            })
            .collect();
        names.sort();
        out.push_str("dependencies = [\n");
        for name in names {
            let _ = writeln!(out, " \"{name}\",");
        }
        out.push_str("]\n");
    }
    out
}

/// Cargo's order of locked packages: by name, then version.
fn order(a: &Package, b: &Package) -> Ordering {
    a.name
        .cmp(&b.name)
        .then_with(|| version_key(&a.version).cmp(&version_key(&b.version)))
}

/// A version's numeric parts, for ordering (`1.0.4+wasi-0.2.12` -> [1, 0, 4]).
fn version_key(version: &str) -> Vec<u64> {
    version
        .split(['+', '-'])
        .next()
        .unwrap_or_default()
        .split('.')
        .map(|part| part.parse().unwrap_or(0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"# This file is automatically @generated by Cargo.
# It is not intended for manual editing.
version = 4

[[package]]
name = "engine-gate"
version = "0.1.0"
dependencies = [
 "engine-stage-sdk",
 "shlex",
]

[[package]]
name = "engine-stage-sdk"
version = "0.1.0"
dependencies = [
 "serde",
 "wasip2",
 "wit-bindgen 0.60.0",
]

[[package]]
name = "serde"
version = "1.0.200"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "aaaa"

[[package]]
name = "shlex"
version = "1.3.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "bbbb"

[[package]]
name = "wasip2"
version = "1.0.4+wasi-0.2.12"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "cccc"
dependencies = [
 "wit-bindgen 0.57.1",
]

[[package]]
name = "wit-bindgen"
version = "0.57.1"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "dddd"

[[package]]
name = "wit-bindgen"
version = "0.60.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "eeee"
"#;

    fn root(dependencies: &[&str]) -> Root {
        Root {
            name: "hello".into(),
            version: "0.1.0".into(),
            dependencies: dependencies.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn the_lock_holds_what_the_project_needs_in_cargos_order() {
        let lock = for_project(LOCK, &root(&["engine-stage-sdk", "serde"])).unwrap();
        assert!(
            !lock.contains("engine-gate") && !lock.contains("shlex"),
            "{lock}"
        );
        let names: Vec<&str> = lock
            .lines()
            .filter_map(|l| l.strip_prefix("name = "))
            .collect();
        assert_eq!(
            names,
            [
                "\"engine-stage-sdk\"",
                "\"hello\"",
                "\"serde\"",
                "\"wasip2\"",
                "\"wit-bindgen\"",
                "\"wit-bindgen\""
            ]
        );
        assert!(lock.contains(
            "name = \"hello\"\nversion = \"0.1.0\"\ndependencies = [\n \"engine-stage-sdk\",\n \"serde\",\n]\n"
        ));
        assert!(lock.contains(" \"wit-bindgen 0.60.0\",\n"), "{lock}");
    }

    #[test]
    fn a_single_version_left_is_named_alone() {
        let without_wasip2 = LOCK.replace(" \"wasip2\",\n", "");
        let lock = for_project(&without_wasip2, &root(&["engine-stage-sdk"])).unwrap();
        assert!(lock.contains(" \"wit-bindgen\",\n"), "{lock}");
        assert!(!lock.contains("0.57.1"), "{lock}");
    }

    #[test]
    fn a_dependency_the_lock_lacks_gives_no_lock() {
        assert!(for_project(LOCK, &root(&["engine-stage-sdk", "regex"])).is_none());
    }

    #[test]
    fn the_root_is_read_from_a_simple_manifest() {
        let root = Root::from_manifest(
            "[package]\nname = \"hello\"\nversion = \"0.2.0\"\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n\
             [dependencies]\n# the SDK\nengine-stage-sdk = { path = \".engine/sdk/rust/sdk\" }\n\
             serde = { version = \"1\", features = [\"derive\"] }\nserde_json = \"1\"\n\n\
             [profile.release]\nlto = true\n",
        )
        .unwrap();
        assert_eq!(root.name, "hello");
        assert_eq!(root.version, "0.2.0");
        assert_eq!(
            root.dependencies,
            ["engine-stage-sdk", "serde", "serde_json"]
        );
    }
}
