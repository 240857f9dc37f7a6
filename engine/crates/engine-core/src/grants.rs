//! What a stage may do and where its component comes from: vocabulary shared by the workflow
//! (what it grants a stage), the runtime (what it enforces) and plugins' descriptors (what they
//! ask for). Not part of what the state machine decides on.

use serde::{Deserialize, Serialize};

/// Where a stage's component comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PluginRef {
    /// A stage shipped inside the engine binary: `uses: builtin:gate`.
    Builtin {
        /// The name after `builtin:`.
        name: String,
    },
    /// A third-party component on disk, pinned by content hash.
    Path {
        /// Path as written in the workflow (relative to the workflow file's directory).
        path: String,
        /// Expected sha256 of the file, lowercase hex.
        sha256: String,
    },
}

impl std::fmt::Display for PluginRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginRef::Builtin { name } => write!(f, "builtin:{name}"),
            PluginRef::Path { path, .. } => write!(f, "{path}"),
        }
    }
}

/// How a stage may use the run's worktree.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum WorkspaceAccess {
    /// Not mounted.
    #[default]
    None,
    /// Mounted read-only at `/workspace`.
    Read,
    /// Mounted read-write at `/workspace`.
    Write,
}

/// Permissions: what a plugin asks for in `describe()`, or what the workflow grants a stage.
/// Whatever is not listed is denied.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Permissions {
    /// Access to the worktree.
    #[serde(default)]
    pub workspace: WorkspaceAccess,
    /// Programs the stage may run through `exec` (bare names).
    #[serde(default)]
    pub exec: Vec<String>,
    /// Whether the stage may start agent sessions.
    #[serde(default)]
    pub agent: bool,
    /// Hosts the stage may send HTTP requests to.
    #[serde(default)]
    pub net: Vec<String>,
}

impl Permissions {
    /// What `requested` asks for beyond `self` (the grant), one human-readable item each.
    /// Empty when the grant covers the request.
    pub fn shortfall(&self, requested: &Permissions) -> Vec<String> {
        let mut missing = Vec::new();
        if requested.workspace > self.workspace {
            missing.push(format!(
                "workspace: {} (granted: {})",
                access_name(requested.workspace),
                access_name(self.workspace)
            ));
        }
        for program in &requested.exec {
            if !self.exec.iter().any(|g| g == program) {
                missing.push(format!("exec: {program}"));
            }
        }
        if requested.agent && !self.agent {
            missing.push("agent: true".to_string());
        }
        for host in &requested.net {
            if !self.net.iter().any(|g| net_grant_covers(g, host)) {
                missing.push(format!("net: {host}"));
            }
        }
        missing
    }
}

/// Whether the granted `net` entry covers the requested one: the same entry, or a bare host
/// granted for a `host:port` requested (a bare host allows every port, as the runtime does).
/// Host names compare case-insensitively.
fn net_grant_covers(granted: &str, requested: &str) -> bool {
    if granted.eq_ignore_ascii_case(requested) {
        return true;
    }
    let granted_has_port = granted.rsplit_once(':').is_some();
    match requested.rsplit_once(':') {
        Some((host, _port)) if !granted_has_port => granted.eq_ignore_ascii_case(host),
        _ => false,
    }
}

fn access_name(access: WorkspaceAccess) -> &'static str {
    match access {
        WorkspaceAccess::None => "none",
        WorkspaceAccess::Read => "read",
        WorkspaceAccess::Write => "write",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortfall_names_each_missing_grant() {
        let granted = Permissions {
            workspace: WorkspaceAccess::Read,
            exec: vec!["git".into()],
            ..Default::default()
        };
        let asked = Permissions {
            workspace: WorkspaceAccess::Write,
            exec: vec!["git".into(), "cargo".into()],
            agent: true,
            net: vec![],
        };
        assert_eq!(
            granted.shortfall(&asked),
            vec![
                "workspace: write (granted: read)",
                "exec: cargo",
                "agent: true"
            ]
        );
        assert!(asked.shortfall(&granted).is_empty());
    }

    #[test]
    fn a_bare_host_grant_covers_every_port_of_it() {
        let granted = Permissions {
            net: vec!["API.example.com".into(), "hooks.test:8443".into()],
            ..Default::default()
        };
        let asked = |hosts: &[&str]| Permissions {
            net: hosts.iter().map(std::string::ToString::to_string).collect(),
            ..Default::default()
        };
        assert!(
            granted
                .shortfall(&asked(&["api.example.com:443", "api.example.com"]))
                .is_empty()
        );
        assert!(granted.shortfall(&asked(&["hooks.test:8443"])).is_empty());
        assert_eq!(
            granted.shortfall(&asked(&["hooks.test", "hooks.test:80", "other.test"])),
            vec!["net: hooks.test", "net: hooks.test:80", "net: other.test"]
        );
    }
}
