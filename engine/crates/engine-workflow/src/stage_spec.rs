//! What the host needs to run one stage, beside what the state machine decides on
//! ([`engine_core::Stage`]): the component, its config, what it is granted, its limits, its
//! `if:` and its secrets. [`StageDef`] pairs the two views of one stage.

use engine_core::{Permissions, PluginRef, Stage};

/// Default time limit of a stage attempt: 30 minutes.
pub const DEFAULT_TIMEOUT_MS: u64 = 30 * 60 * 1000;

/// Default memory limit of a stage attempt: 256 MiB.
pub const DEFAULT_MEMORY_LIMIT_BYTES: u64 = 256 * 1024 * 1024;

/// What the host needs to run one stage, every default resolved. The state machine never reads
/// it; the driver does when it starts an attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct StageSpec {
    /// The component that implements it.
    pub uses: PluginRef,
    /// The stage's config (`with:`), handed to the component as JSON.
    pub with: serde_json::Value,
    /// What the workflow grants the stage.
    pub permissions: Permissions,
    /// Time limit of one attempt, in milliseconds.
    pub timeout_ms: u64,
    /// Memory limit of one attempt's component instance, in bytes.
    pub memory_limit_bytes: u64,
    /// Spending limit in USD of this stage's agent sessions (all attempts of a run).
    pub budget_usd: Option<f64>,
    /// The stage's `if:` condition (a CEL expression); `None` = always run. The driver
    /// evaluates it when the stage is about to start and skips the stage when it is false.
    pub condition: Option<String>,
    /// Names of the secrets (environment variables of the engine process) this stage may see,
    /// through `{{ secrets.NAME }}` in its `with:`. Their values are redacted from every log.
    pub secrets: Vec<String>,
}

/// One stage of a loaded workflow seen both ways: what the state machine decides on and what
/// the host needs to run it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StageDef<'a> {
    /// The stage as the state machine sees it (id, `needs`, retry, `on_failure`, delivery,
    /// approval).
    pub stage: &'a Stage,
    /// What the host needs to run it.
    pub spec: &'a StageSpec,
}
