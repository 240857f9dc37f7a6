//! The planning agent's sessions, run through the engine's own agent machinery: the backends
//! and settings of the workflow (`agents:`), the host's supervision and hard limits, a scrubbed
//! environment, the run budget, transcripts, and confinement. The session is read-only (plan
//! permission mode: each CLI's own read-only mechanism, or a throw-away copy of the checkout for
//! CLIs without one) and, confined, every path is read-only but the CLI's own state and scratch
//! directories; the engine's state directory and the usual secrets in the home directory are
//! hidden. Unconfined, a session that leaves the checkout changed is refused
//! ([`PlanError::AgentWrote`]).

use std::path::PathBuf;
use std::sync::Arc;

use engine_agent::{AgentEvent, Outcome, PermissionMode, SessionRequest};
use engine_confine::{Limits, Network, Policy, Sandbox};
use engine_git::Repo;
use engine_runtime::AgentLauncher as _;
use engine_workflow::{NetworkGrant, SandboxSettings};

use super::error::PlanError;
use crate::agents::{AgentConfig, BudgetView, HostLauncher, LaunchSite, SpendMeter};
use crate::confine::paths;

/// The stage name the plan's sessions are recorded under (transcripts, scratch files).
pub const STAGE: &str = "plan";

/// Backends whose CLI resumes a session by id.
const RESUMABLE: &[&str] = &["claude", "codex", "gemini", "opencode", "cursor"];

/// Where and how the planning agent runs.
pub struct AgentSite {
    /// The workflow's agent settings (defaults without a workflow).
    pub config: Arc<AgentConfig>,
    /// The workflow's `sandbox:` settings.
    pub sandbox: SandboxSettings,
    /// The backend.
    pub backend: String,
    /// The model (or tier), when given.
    pub model: Option<String>,
    /// The repository (the agent's working directory is its root).
    pub repo: Repo,
    /// The engine's state directory (hidden from the agent).
    pub state_dir: PathBuf,
    /// This plan's directory under the state directory (transcripts, scratch files).
    pub plan_dir: PathBuf,
}

/// What one session answered.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The agent's final message.
    pub text: String,
    /// The session to resume, when the backend can.
    pub resume: Option<String>,
    /// What it cost, when known.
    pub cost_usd: Option<f64>,
}

/// The planning agent: one launcher for every session of this plan (they share the budget).
pub struct Agent {
    launcher: HostLauncher,
    backend: String,
    model: Option<String>,
    meter: Arc<SpendMeter>,
    /// Whether the sessions run confined.
    confined: bool,
}

impl Agent {
    /// Prepares the sessions: the sandbox (unless the workflow turns confinement off), the
    /// budget (`budget.run_usd` over every session of this plan) and the secret values to
    /// redact from transcripts.
    pub fn new(site: AgentSite) -> Result<Agent, PlanError> {
        let sandbox = if site.sandbox.enabled {
            Some(Arc::new(sandbox(&site)?))
        } else {
            None
        };
        let redact = site
            .config
            .secrets
            .iter()
            .filter_map(|name| std::env::var(name).ok())
            .filter(|v| !v.is_empty())
            .collect();
        let confined = sandbox.is_some();
        let meter = Arc::new(SpendMeter::new());
        let budget = BudgetView::default().with("budget.run_usd", site.config.run_budget_usd, 0.0);
        let launch = LaunchSite {
            repo: site.repo.clone(),
            worktree: site.repo.root().to_path_buf(),
            run_dir: site.plan_dir.clone(),
            stage_id: STAGE.to_string(),
            attempt: 1,
            redact,
            sandbox,
            env: Vec::new(),
            untouched_base: None,
        };
        Ok(Agent {
            launcher: HostLauncher::new(site.config.clone(), launch, budget, meter.clone()),
            backend: site.backend,
            model: site.model,
            meter,
            confined,
        })
    }

    /// The backend's name.
    pub fn backend(&self) -> &str {
        &self.backend
    }

    /// What every session so far cost, when known.
    pub fn spent_usd(&self) -> Option<f64> {
        let total = self.meter.total();
        total.cost_known.then_some(total.cost_usd)
    }

    /// Runs one session with `prompt` (resuming `resume` when given) to its end; its final
    /// message is the answer. `progress` is told each message the agent writes.
    pub async fn ask(
        &self,
        prompt: String,
        resume: Option<String>,
        progress: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Answer, PlanError> {
        let request = SessionRequest {
            backend: self.backend.clone(),
            model: self.model.clone(),
            prompt,
            system_prompt: None,
            permission_mode: PermissionMode::Plan,
            allowed_tools: Vec::new(),
            denied_tools: Vec::new(),
            max_turns: None,
            resume_session: resume,
            budget_usd: None,
        };
        let mut session = self
            .launcher
            .start(request)
            .map_err(|e| PlanError::AgentStart(e.to_string()))?;
        while let Some(event) = session.next_event().await {
            if let AgentEvent::AssistantText { text } = &event {
                progress(text);
            }
        }
        let summary = session.finish().await;
        if summary.outcome != Outcome::Completed {
            let outcome = serde_json::to_value(summary.outcome)
                .ok()
                .and_then(|v| v.as_str().map(|s| s.replace('_', "-")))
                .unwrap_or_else(|| format!("{:?}", summary.outcome));
            let detail = if summary.detail.is_empty() {
                summary.result_text.chars().take(2000).collect()
            } else {
                summary.detail.clone()
            };
            return Err(PlanError::Agent { outcome, detail });
        }
        // Confined, the agent cannot write the checkout: a change is someone else's (a run's
        // write-back). Unconfined, nobody can tell, so the plan is not trusted.
        if !self.confined && !summary.files_changed.is_empty() {
            return Err(PlanError::AgentWrote(summary.files_changed));
        }
        let resume = summary
            .session_id
            .clone()
            .filter(|_| RESUMABLE.contains(&self.backend.as_str()));
        Ok(Answer {
            text: summary.result_text,
            resume,
            cost_usd: summary.usage.cost_usd,
        })
    }
}

/// The sandbox of the plan's sessions: the whole filesystem read-only (the checkout included),
/// the state directory, the workflow's `sandbox.hide` and the usual secrets in the home
/// directory hidden, a private temporary directory, the network as the workflow grants agents.
fn sandbox(site: &AgentSite) -> Result<Sandbox, PlanError> {
    let settings = &site.sandbox;
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut policy = Policy {
        tmp_dir: site.plan_dir.join("tmp"),
        network: match settings.network {
            NetworkGrant::None => Network::None,
            NetworkGrant::Agent => Network::Agent,
            NetworkGrant::All => Network::All,
        },
        limits: Limits {
            processes: settings.limits.processes,
            memory_bytes: settings.limits.memory_bytes,
            file_size_bytes: settings.limits.file_size_bytes,
        },
        ..Policy::default()
    };
    policy.hidden.push(site.state_dir.clone());
    for hidden in &settings.hide {
        policy
            .hidden
            .extend(paths::expand_home(hidden, home.as_deref()));
    }
    if let Some(home) = &home {
        policy
            .hidden
            .extend(paths::HIDDEN_IN_HOME.iter().map(|p| home.join(p)));
    }
    Sandbox::new(policy).map_err(|e| PlanError::Engine(e.into()))
}
