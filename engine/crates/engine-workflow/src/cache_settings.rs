//! The workflow's `caches:` section: directories the engine keeps across runs (a Cargo target
//! directory, `node_modules`) and hands to the processes of the stages granted them, either
//! through an environment variable (`env:`) or mounted at a path inside the worktree (`path:`).

use serde_json::{Map, Value};

use crate::diagnostic::Problem;
use crate::field_path::FieldPath;
use crate::resolve::is_identifier;
use crate::suggest::unknown_stage;

/// How a cache reaches a stage's processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheMount {
    /// The environment variable that names the cache directory (e.g. `CARGO_TARGET_DIR`).
    Env(String),
    /// A relative path inside the worktree where the sandbox mounts the cache directory
    /// (e.g. `node_modules`); normalised (no `.` parts, no empty parts).
    Path(String),
}

/// One entry of `caches:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cache {
    /// The cache's name: the directory `<state>/caches/<repository>/<name>`.
    pub name: String,
    /// How the stages' processes reach it.
    pub mount: CacheMount,
    /// The stages that get it; `None`: every stage granted `exec` or `agent`.
    pub stages: Option<Vec<String>>,
}

/// The `caches:` section, in name order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CacheSettings {
    /// Every cache.
    pub caches: Vec<Cache>,
}

impl CacheSettings {
    /// The caches stage `stage_id` gets; `starts_processes` says whether it is granted `exec` or
    /// `agent` (a stage that starts no process gets none).
    pub fn for_stage<'a>(
        &'a self,
        stage_id: &'a str,
        starts_processes: bool,
    ) -> impl Iterator<Item = &'a Cache> + 'a {
        self.caches.iter().filter(move |cache| {
            starts_processes
                && cache
                    .stages
                    .as_ref()
                    .is_none_or(|ids| ids.iter().any(|id| id == stage_id))
        })
    }
}

/// Variables a cache may not name beyond the deny list: the sandbox sets them itself.
const SET_BY_ENGINE: &[&str] = &["TMPDIR", "TMP", "TEMP", "HOME"];

/// Reads `caches:`; value problems go to `problems` (names and types are the schema's).
pub(crate) fn read_cache_settings(
    root: &Map<String, Value>,
    problems: &mut Vec<Problem>,
) -> CacheSettings {
    let mut settings = CacheSettings::default();
    let Some(section) = root.get("caches").and_then(Value::as_object) else {
        return settings;
    };
    let stage_ids = stage_ids(root);
    let sandbox_off = root
        .get("sandbox")
        .and_then(|s| s.get("enabled"))
        .and_then(Value::as_bool)
        == Some(false);
    let workflow_env = |name: &str| {
        let in_section = |section: Option<&Value>| {
            section
                .and_then(Value::as_object)
                .is_some_and(|vars| vars.contains_key(name))
        };
        if in_section(root.get("env")) {
            Some("env")
        } else if in_section(root.get("agents").and_then(|a| a.get("env"))) {
            Some("agents.env")
        } else {
            None
        }
    };
    for (name, body) in section {
        let Some(body) = body.as_object() else {
            continue;
        };
        if !is_identifier(name) {
            continue;
        }
        let path = FieldPath::keys(&["caches", name]);
        let mount = match (body.get("env"), body.get("path")) {
            (Some(_), Some(_)) => {
                problems.push(Problem::at(
                    path.clone(),
                    "give the cache `env:` or `path:`, not both",
                ));
                continue;
            }
            (None, None) => {
                problems.push(Problem::at(
                    path.clone(),
                    "a cache needs `env:` (the variable that names its directory, e.g. \
                     CARGO_TARGET_DIR) or `path:` (a directory in the worktree, e.g. node_modules)",
                ));
                continue;
            }
            (Some(env), None) => {
                let Some(var) = env.as_str() else { continue };
                let field = path.key("env");
                if let Some(why) =
                    engine_core::env_policy::denied(var, engine_core::env_policy::EnvSource::Stage)
                {
                    problems.push(Problem::at(
                        field,
                        format!("{var} cannot name a cache: {why}"),
                    ));
                    continue;
                }
                if SET_BY_ENGINE.contains(&var) {
                    problems.push(Problem::at(
                        field,
                        format!("{var} cannot name a cache: the engine sets it for every process"),
                    ));
                    continue;
                }
                if let Some(section) = workflow_env(var) {
                    problems.push(Problem::at(
                        field,
                        format!(
                            "{var} is also set under `{section}:`; remove it there (the cache \
                             sets it to the cache directory)"
                        ),
                    ));
                    continue;
                }
                CacheMount::Env(var.to_string())
            }
            (None, Some(at)) => {
                let Some(text) = at.as_str() else { continue };
                let field = path.key("path");
                let Some(normal) = inside_worktree(text) else {
                    problems.push(Problem::at(
                        field,
                        format!(
                            "`{text}` must be a directory inside the worktree: a relative path, \
                             without `..`, not in `.git`"
                        ),
                    ));
                    continue;
                };
                if sandbox_off {
                    problems.push(Problem::at(
                        field,
                        "a `path:` cache is mounted by the sandbox, which `sandbox.enabled: \
                         false` turns off; use `env:` when the tool reads its directory from a \
                         variable, or enable the sandbox",
                    ));
                    continue;
                }
                CacheMount::Path(normal)
            }
        };
        let stages = body.get("stages").and_then(Value::as_array).map(|items| {
            let mut ids = Vec::new();
            for (index, item) in items.iter().enumerate() {
                let Some(id) = item.as_str() else { continue };
                let field = path.key("stages").index(index);
                let known: Vec<&str> = stage_ids.iter().map(|(id, _)| id.as_str()).collect();
                match stage_ids.iter().find(|(known, _)| known == id) {
                    None => problems.push(Problem::at(field, unknown_stage(id, &known, ""))),
                    Some((_, false)) => problems.push(Problem::at(
                        field,
                        format!(
                            "stage \"{id}\" starts no process (no `exec` or `agent` grant under \
                             its permissions), so a cache would reach nothing"
                        ),
                    )),
                    Some(_) => ids.push(id.to_string()),
                }
            }
            ids
        });
        settings.caches.push(Cache {
            name: name.clone(),
            mount,
            stages,
        });
    }
    check_clashes(&settings, problems);
    settings
}

/// Two caches naming one variable, or mounted at one path (or one inside the other).
fn check_clashes(settings: &CacheSettings, problems: &mut Vec<Problem>) {
    for (index, cache) in settings.caches.iter().enumerate() {
        for earlier in &settings.caches[..index] {
            let (field, message) = match (&cache.mount, &earlier.mount) {
                (CacheMount::Env(a), CacheMount::Env(b)) if a == b => (
                    "env",
                    format!(
                        "cache \"{}\" already uses {a}; give each cache its own variable",
                        earlier.name
                    ),
                ),
                (CacheMount::Path(a), CacheMount::Path(b)) if nested(a, b) => (
                    "path",
                    format!(
                        "{a} overlaps {b}, the path of cache \"{}\"; give each cache a \
                         directory of its own",
                        earlier.name
                    ),
                ),
                _ => continue,
            };
            problems.push(Problem::at(
                FieldPath::keys(&["caches", &cache.name, field]),
                message,
            ));
        }
    }
}

/// Whether one of two normalised relative paths is the other or lies inside it.
fn nested(a: &str, b: &str) -> bool {
    let inside = |x: &str, y: &str| x == y || x.starts_with(&format!("{y}/"));
    inside(a, b) || inside(b, a)
}

/// `text` normalised when it names a directory inside the worktree: relative, no `..`, not
/// `.git` or inside it, not the worktree itself.
fn inside_worktree(text: &str) -> Option<String> {
    if text.starts_with('/') || text.contains('\0') || text.contains('\\') {
        return None;
    }
    let parts: Vec<&str> = text
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    let first = parts.first()?;
    if parts.contains(&"..") || *first == ".git" || first.starts_with(".engine") {
        return None;
    }
    Some(parts.join("/"))
}

/// Every stage and finally stage id, with whether it starts processes (`exec` or `agent`).
fn stage_ids(root: &Map<String, Value>) -> Vec<(String, bool)> {
    let mut ids = Vec::new();
    for section in ["stages", "finally"] {
        let Some(stages) = root.get(section).and_then(Value::as_object) else {
            continue;
        };
        for (id, body) in stages {
            let permissions = body.get("permissions");
            let exec = permissions
                .and_then(|p| p.get("exec"))
                .and_then(Value::as_array)
                .is_some_and(|list| !list.is_empty());
            let agent = permissions
                .and_then(|p| p.get("agent"))
                .and_then(Value::as_bool)
                == Some(true);
            ids.push((id.clone(), exec || agent));
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(doc: &Value) -> (CacheSettings, Vec<String>) {
        let mut problems = Vec::new();
        let settings = read_cache_settings(doc.as_object().unwrap(), &mut problems);
        let texts = problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect();
        (settings, texts)
    }

    fn stages() -> Value {
        json!({
            "build": {"uses": "builtin:gate", "permissions": {"exec": ["cargo"]}},
            "agent": {"uses": "builtin:agent", "permissions": {"agent": true}},
            "plain": {"uses": "builtin:triage"},
        })
    }

    #[test]
    fn caches_are_read_and_granted_to_stages_that_start_processes() {
        let (settings, problems) = read(&json!({
            "stages": stages(),
            "caches": {
                "cargo-target": {"env": "CARGO_TARGET_DIR"},
                "node": {"path": "./web//node_modules/", "stages": ["build"]},
            }
        }));
        assert!(problems.is_empty(), "{problems:?}");
        let names = |id: &str, starts: bool| -> Vec<String> {
            settings
                .for_stage(id, starts)
                .map(|c| c.name.clone())
                .collect()
        };
        assert_eq!(names("build", true), ["cargo-target", "node"]);
        assert_eq!(names("agent", true), ["cargo-target"]);
        assert!(names("plain", false).is_empty());
        assert_eq!(
            settings.caches[1].mount,
            CacheMount::Path("web/node_modules".into())
        );
    }

    #[test]
    fn bad_caches_are_located_problems() {
        let (_, problems) = read(&json!({
            "env": {"FROM_ENV": "1"},
            "stages": stages(),
            "caches": {
                "a": {"env": "LD_PRELOAD"},
                "b": {"env": "PATH"},
                "c": {"path": "../outside"},
                "d": {"path": "/abs"},
                "e": {"path": ".git/hooks"},
                "f": {},
                "g": {"env": "X", "path": "y"},
                "h": {"env": "FROM_ENV"},
                "i": {"env": "TMPDIR"},
                "j": {"env": "CARGO_TARGET_DIR", "stages": ["biuld", "plain"]},
                "k": {"env": "CARGO_TARGET_DIR"},
                "l": {"path": "web"},
                "m": {"path": "web/node_modules"},
            }
        }));
        let joined = problems.join("\n");
        for expected in [
            "caches.a.env: LD_PRELOAD cannot name a cache: it would change how programs load",
            "caches.b.env: PATH cannot name a cache",
            "caches.c.path: `../outside` must be a directory inside the worktree",
            "caches.d.path: `/abs` must be",
            "caches.e.path: `.git/hooks` must be",
            "caches.f: a cache needs `env:`",
            "caches.g: give the cache `env:` or `path:`, not both",
            "caches.h.env: FROM_ENV is also set under `env:`",
            "caches.i.env: TMPDIR cannot name a cache: the engine sets it",
            "caches.j.stages[0]: unknown stage \"biuld\"; did you mean \"build\"?",
            "caches.j.stages[1]: stage \"plain\" starts no process",
            "caches.k.env: cache \"j\" already uses CARGO_TARGET_DIR",
            "caches.m.path: web/node_modules overlaps web, the path of cache \"l\"",
        ] {
            assert!(
                joined.contains(expected),
                "missing {expected:?} in:\n{joined}"
            );
        }
        assert_eq!(problems.len(), 13, "{joined}");
    }

    #[test]
    fn a_path_cache_needs_the_sandbox() {
        let (_, problems) = read(&json!({
            "sandbox": {"enabled": false},
            "stages": stages(),
            "caches": {"node": {"path": "node_modules"}, "t": {"env": "CARGO_TARGET_DIR"}},
        }));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("caches.node.path: a `path:` cache is mounted by the sandbox")
        );
    }
}
