//! The workflow as the state machine sees it: stages, their dependencies and policies, with every
//! default already resolved. `engine-workflow` builds this from YAML; tests build it directly.

use serde::{Deserialize, Serialize};

/// A validated workflow with defaults resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workflow {
    /// The workflow's `name:`.
    pub name: String,
    /// Stages in file order. Ids are unique and every `needs` entry names one of them; the
    /// dependency graph has no cycle (the loader guarantees it).
    pub stages: Vec<Stage>,
    /// Stages of the `finally:` section: run once the run reached its terminal state (subject to
    /// their `if:`); their outcome never changes the run's. Their `needs` are empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finally: Vec<Stage>,
}

impl Workflow {
    /// The stage with this id.
    pub fn stage(&self, id: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.id == id)
    }

    /// The `finally:` stage with this id.
    pub fn finally_stage(&self, id: &str) -> Option<&Stage> {
        self.finally.iter().find(|s| s.id == id)
    }
}

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

/// Whether a stage may run again after a crash interrupted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Re-run after a crash (effects made idempotent with the idempotency keys).
    #[default]
    AtLeastOnce,
    /// After a crash the next attempt is told it was interrupted and must reconcile.
    AtMostOnce,
}

/// Retry policy for retryable failures (timeouts count as retryable).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Attempts per round, including the first (1 = never retry).
    pub max_attempts: u32,
    /// Delay before the first retry, in milliseconds.
    pub initial_interval_ms: u64,
    /// Factor applied to the delay after each retry (>= 1.0).
    pub backoff: f64,
    /// Upper bound of the delay, in milliseconds.
    pub max_interval_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_interval_ms: 10_000,
            backoff: 2.0,
            max_interval_ms: 300_000,
        }
    }
}

impl RetryPolicy {
    /// Delay before retry number `retry` (1 = the first retry) in milliseconds:
    /// `initial * backoff^(retry-1)`, capped at `max_interval`.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "`delay` is finite, at least 0 and below max_interval_ms where it is cast; \
                  dropping the fraction of a millisecond is intended"
    )]
    pub fn delay_ms(&self, retry: u32) -> u64 {
        let exponent = i32::try_from(retry.saturating_sub(1)).map_or(64, |e| e.min(64));
        let factor = if self.backoff.is_finite() && self.backoff >= 1.0 {
            self.backoff
        } else {
            1.0
        };
        let delay = self.initial_interval_ms as f64 * factor.powi(exponent);
        if !delay.is_finite() || delay >= self.max_interval_ms as f64 {
            self.max_interval_ms
        } else {
            delay as u64
        }
    }
}

/// `on_failure: { goto: STAGE, max_loops: N }`: when the stage fails for good, send the run back
/// to an earlier stage with the failure as feedback, at most `max_loops` times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnFailure {
    /// The stage to go back to: this stage or one it (transitively) needs.
    pub goto: String,
    /// How many times this stage may send the run back.
    pub max_loops: u32,
}

/// One stage of a workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    /// The stage's id (its key under `stages:`).
    pub id: String,
    /// The component that implements it.
    pub uses: PluginRef,
    /// Stages that must succeed before this one starts.
    #[serde(default)]
    pub needs: Vec<String>,
    /// The stage's config (`with:`), handed to the component as JSON.
    #[serde(default)]
    pub with: serde_json::Value,
    /// What the workflow grants the stage.
    #[serde(default)]
    pub permissions: Permissions,
    /// Time limit of one attempt, in milliseconds.
    pub timeout_ms: u64,
    /// Memory limit of one attempt's component instance, in bytes.
    pub memory_limit_bytes: u64,
    /// Retry policy for retryable failures.
    pub retry: RetryPolicy,
    /// Where to send the run when the stage fails for good.
    #[serde(default)]
    pub on_failure: Option<OnFailure>,
    /// Delivery guarantee of the stage's effects.
    #[serde(default)]
    pub delivery: Delivery,
    /// Spending limit in USD of this stage's agent sessions (all attempts of a run).
    #[serde(default)]
    pub budget_usd: Option<f64>,
    /// The stage's `if:` condition (a CEL expression); `None` = always run. The driver
    /// evaluates it when the stage is about to start and skips the stage when it is false.
    #[serde(default, rename = "if", skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Names of the secrets (environment variables of the engine process) this stage may see,
    /// through `{{ secrets.NAME }}` in its `with:`. Their values are redacted from every log.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    /// Set for an approval stage (`uses: builtin:approval`): instead of running a component the
    /// stage waits for a human (`engine approve` / `engine reject`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalPolicy>,
}

/// What an approval stage does when nobody answers in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnTimeout {
    /// Continue as if approved.
    Approve,
    /// Treat as a rejection: the stage fails (and `on_failure` may send the run back).
    Reject,
    /// The run fails at once (no `on_failure`).
    #[default]
    Fail,
}

/// How an approval stage waits for a human.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ApprovalPolicy {
    /// How long to wait, in milliseconds; `None` = forever.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// What happens when the wait times out.
    #[serde(default)]
    pub on_timeout: OnTimeout,
    /// What to tell the human (shown by `engine show` and the progress output).
    #[serde(default)]
    pub message: Option<String>,
}

/// Default time limit of a stage attempt: 30 minutes.
pub const DEFAULT_TIMEOUT_MS: u64 = 30 * 60 * 1000;

/// Default memory limit of a stage attempt: 256 MiB.
pub const DEFAULT_MEMORY_LIMIT_BYTES: u64 = 256 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_grows_and_caps() {
        let p = RetryPolicy {
            max_attempts: 5,
            initial_interval_ms: 100,
            backoff: 2.0,
            max_interval_ms: 350,
        };
        assert_eq!(p.delay_ms(1), 100);
        assert_eq!(p.delay_ms(2), 200);
        assert_eq!(p.delay_ms(3), 350);
        assert_eq!(p.delay_ms(60), 350);
    }

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
