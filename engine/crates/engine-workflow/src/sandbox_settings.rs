//! The workflow's `sandbox:` section and each stage's `sandbox:` grants: how the processes a
//! run starts (agent CLIs, and the programs stages run) are confined.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::diagnostic::Problem;
use crate::field_path::FieldPath;
use crate::units::size_bytes;

/// Which processes of a stage get the host's network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NetworkGrant {
    /// None: every process has only its own loopback.
    None,
    /// Agent sessions (their model API); not the programs stages run.
    #[default]
    Agent,
    /// Every process.
    All,
}

/// Resource limits of a confined start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxLimits {
    /// Processes (and threads) alive at once.
    pub processes: u64,
    /// Writable memory per process, and per start where cgroups are available, in bytes.
    pub memory_bytes: u64,
    /// Largest file a process may write, in bytes.
    pub file_size_bytes: u64,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        SandboxLimits {
            processes: 1024,
            memory_bytes: 8 << 30,
            file_size_bytes: 8 << 30,
        }
    }
}

/// What a stage's processes see of the user's repository outside the run's worktree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub enum RepositoryAccess {
    /// The checkout is hidden; its `.git` is read-only but for the run's own parts.
    #[default]
    None,
    /// The checkout is shown read-only.
    Read,
    /// The checkout and all of `.git` are writable (refs, index, config): what a merge needs.
    Write,
}

/// One stage's `sandbox:` grants.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StageSandbox {
    /// Overrides the workflow's `sandbox.network` for this stage.
    pub network: Option<NetworkGrant>,
    /// Extra writable paths (`~/` is the user's home).
    pub write: Vec<String>,
    /// `repository:` (`none`, `read`, `write`); `write` is implied for `builtin:merge`.
    pub repository: RepositoryAccess,
}

/// The `sandbox:` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxSettings {
    /// `enabled:` (default true). Off: processes run with the user's full rights.
    pub enabled: bool,
    /// Who gets the network by default (`none`, `agent`, `all`; default `agent`).
    pub network: NetworkGrant,
    /// Extra writable paths for every stage.
    pub write: Vec<String>,
    /// Extra hidden paths (on top of the built-in list).
    pub hide: Vec<String>,
    /// Resource limits.
    pub limits: SandboxLimits,
    /// Per-stage grants, by stage id (finally stages included).
    pub stages: BTreeMap<String, StageSandbox>,
}

impl Default for SandboxSettings {
    fn default() -> Self {
        SandboxSettings {
            enabled: true,
            network: NetworkGrant::default(),
            write: Vec::new(),
            hide: Vec::new(),
            limits: SandboxLimits::default(),
            stages: BTreeMap::new(),
        }
    }
}

impl SandboxSettings {
    /// The grants of stage `id` (empty when it has none).
    pub fn stage(&self, id: &str) -> StageSandbox {
        self.stages.get(id).cloned().unwrap_or_default()
    }
}

/// Reads `sandbox:` and every stage's `sandbox:`; value problems go to `problems` (types are
/// the schema's).
pub(crate) fn read_sandbox_settings(
    root: &Map<String, Value>,
    problems: &mut Vec<Problem>,
) -> SandboxSettings {
    let path = FieldPath::keys(&["sandbox"]);
    let section = root.get("sandbox").and_then(Value::as_object);
    let mut settings = SandboxSettings::default();
    if let Some(section) = section {
        if let Some(enabled) = section.get("enabled").and_then(Value::as_bool) {
            settings.enabled = enabled;
        }
        if let Some(network) = network(section.get("network")) {
            settings.network = network;
        }
        settings.write = paths(section.get("write"), &path.key("write"), problems);
        settings.hide = paths(section.get("hide"), &path.key("hide"), problems);
        if let Some(limits) = section.get("limits").and_then(Value::as_object) {
            let limits_path = path.key("limits");
            let slots = [
                ("memory", &mut settings.limits.memory_bytes),
                ("file_size", &mut settings.limits.file_size_bytes),
            ];
            for (name, slot) in slots {
                if let Some(value) = limits.get(name) {
                    match size_bytes(value) {
                        Ok(bytes) => *slot = bytes,
                        Err(e) => problems.push(Problem::at(limits_path.key(name), e.to_string())),
                    }
                }
            }
            if let Some(n) = limits.get("processes").and_then(Value::as_u64) {
                settings.limits.processes = n;
            }
        }
    }
    for section_name in ["stages", "finally"] {
        let Some(stages) = root.get(section_name).and_then(Value::as_object) else {
            continue;
        };
        for (id, body) in stages {
            let uses = body.get("uses").and_then(Value::as_str).unwrap_or_default();
            let grants = body.get("sandbox").and_then(Value::as_object);
            let stage_path = FieldPath::keys(&[section_name, id, "sandbox"]);
            let mut stage = StageSandbox::default();
            if uses == "builtin:merge" {
                stage.repository = RepositoryAccess::Write;
            }
            if let Some(grants) = grants {
                stage.network = network(grants.get("network"));
                stage.write = paths(grants.get("write"), &stage_path.key("write"), problems);
                match grants.get("repository").and_then(Value::as_str) {
                    Some("none") => stage.repository = RepositoryAccess::None,
                    Some("read") => stage.repository = RepositoryAccess::Read,
                    Some("write") => stage.repository = RepositoryAccess::Write,
                    _ => {}
                }
            }
            if stage != StageSandbox::default() {
                settings.stages.insert(id.clone(), stage);
            }
        }
    }
    settings
}

fn network(value: Option<&Value>) -> Option<NetworkGrant> {
    match value?.as_str()? {
        "none" => Some(NetworkGrant::None),
        "agent" => Some(NetworkGrant::Agent),
        "all" => Some(NetworkGrant::All),
        // Anything else is the schema's to report.
        _ => None,
    }
}

/// A list of paths: absolute or `~/...`; nothing relative, nothing with `..`.
fn paths(value: Option<&Value>, path: &FieldPath, problems: &mut Vec<Problem>) -> Vec<String> {
    let Some(items) = value.and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let Some(text) = item.as_str() else {
            continue;
        };
        let absolute = text.starts_with('/') || text == "~" || text.starts_with("~/");
        if !absolute || text.split('/').any(|part| part == "..") || text.contains('\0') {
            problems.push(Problem::at(
                path.index(index),
                format!(
                    "`{text}` must be an absolute path or start with `~/` (the user's home), \
                     without `..`"
                ),
            ));
            continue;
        }
        out.push(text.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(doc: &Value) -> (SandboxSettings, Vec<Problem>) {
        let mut problems = Vec::new();
        let settings = read_sandbox_settings(doc.as_object().unwrap(), &mut problems);
        (settings, problems)
    }

    #[test]
    fn defaults_confine_with_the_network_for_agents_only() {
        let (settings, problems) = read(&json!({}));
        assert!(problems.is_empty());
        assert!(settings.enabled);
        assert_eq!(settings.network, NetworkGrant::Agent);
        assert_eq!(settings.limits, SandboxLimits::default());
    }

    #[test]
    fn merge_may_write_the_repository_and_grants_are_read() {
        let (settings, problems) = read(&json!({
            "sandbox": {"enabled": false, "network": "none", "write": ["~/.cache/x", "/opt/c"],
                        "limits": {"processes": 10, "memory": "1GiB", "file_size": 4096}},
            "stages": {
                "merge": {"uses": "builtin:merge"},
                "test": {"uses": "builtin:gate", "sandbox": {"network": "all", "write": ["/data"]}},
            }
        }));
        assert!(problems.is_empty(), "{problems:?}");
        assert!(!settings.enabled);
        assert_eq!(settings.network, NetworkGrant::None);
        assert_eq!(settings.limits.processes, 10);
        assert_eq!(settings.limits.memory_bytes, 1 << 30);
        assert_eq!(settings.stage("merge").repository, RepositoryAccess::Write);
        assert_eq!(settings.stage("test").network, Some(NetworkGrant::All));
        assert_eq!(settings.stage("test").write, vec!["/data".to_string()]);
        assert_eq!(settings.stage("other"), StageSandbox::default());
    }

    #[test]
    fn relative_paths_and_dot_dot_are_refused() {
        let (_, problems) = read(&json!({
            "sandbox": {"write": ["rel/path", "/a/../b", "~other/x"]}
        }));
        assert_eq!(problems.len(), 3);
    }
}
