//! The engine's [`AgentLauncher`]: what happens when a stage starts an agent session. It picks
//! the backend, resolves the model tier, applies every budget (failing closed when the spend
//! could not be known), builds the CLI invocation, starts it under the host's supervision with
//! a scrubbed environment, and records what it spent and which files it changed.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use engine_agent::supervise::{Session, SessionConfinement, SessionSpec};
use engine_agent::{
    AgentEvent, BackendSettings, InvocationContext, PermissionMode, SessionRequest, Summary,
};
use engine_git::Repo;
use engine_runtime::{AgentLauncher, AgentSession, AgentStartError, BoxFuture};

use super::budget::BudgetView;
use super::meter::SpendMeter;
use super::readonly_copy::{self, ReadOnlyCopy};
use super::settings::AgentConfig;

/// Host variables every agent process gets (when set); nothing else of the engine's own
/// environment reaches it unless the workflow lists it under `agents.secrets`.
const BASE_ENV: &[&str] = &[
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TMPDIR",
];

/// Where an attempt's sessions run and leave their files.
#[derive(Debug, Clone)]
pub struct LaunchSite {
    /// The repository (for snapshots of the worktree).
    pub repo: Repo,
    /// The run's worktree: the agent's working directory.
    pub worktree: PathBuf,
    /// `<state>/runs/<run>`: transcripts and scratch files go below it.
    pub run_dir: PathBuf,
    /// The stage.
    pub stage_id: String,
    /// The attempt.
    pub attempt: u32,
    /// Secret values to redact from the sessions' transcripts.
    pub redact: Vec<String>,
    /// The attempt's sandbox (`None` only with confinement off).
    pub sandbox: Option<Arc<engine_confine::Sandbox>>,
    /// Variables the CLI gets on top of the workflow's (the attempt's build caches).
    pub env: Vec<(String, String)>,
    /// The run's base commit while nothing has written the worktree since its checkout (the
    /// run's first attempt): the first session's files-changed baseline is that commit instead
    /// of a snapshot of the worktree (two git processes).
    pub untouched_base: Option<String>,
}

/// Starts agent sessions for one attempt.
pub struct HostLauncher {
    config: Arc<AgentConfig>,
    site: LaunchSite,
    budget: BudgetView,
    meter: Arc<SpendMeter>,
    sessions: AtomicU32,
    /// Where the sessions' text and tool calls are logged (the attempt log).
    log: Option<Arc<dyn crate::logs::SessionLog>>,
}

impl HostLauncher {
    /// A launcher for one attempt; `meter` receives what its sessions spend.
    pub fn new(
        config: Arc<AgentConfig>,
        site: LaunchSite,
        budget: BudgetView,
        meter: Arc<SpendMeter>,
    ) -> Self {
        HostLauncher {
            config,
            site,
            budget,
            meter,
            sessions: AtomicU32::new(0),
            log: None,
        }
    }

    /// The same launcher, its sessions' text and tool calls going to `log` as they arrive.
    #[must_use]
    pub fn with_log(mut self, log: Arc<dyn crate::logs::SessionLog>) -> Self {
        self.log = Some(log);
        self
    }

    /// The raw transcript of session `n` of this attempt.
    pub fn transcript_path(site: &LaunchSite, n: u32) -> PathBuf {
        site.run_dir
            .join("transcripts")
            .join(format!("{}.{}.{n}.jsonl", site.stage_id, site.attempt))
    }

    fn env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = BASE_ENV
            .iter()
            .filter_map(|k| Some((k.to_string(), std::env::var(k).ok()?)))
            .collect();
        env.push(("TERM".into(), "dumb".into()));
        for name in &self.config.secrets {
            if let Ok(value) = std::env::var(name) {
                env.push((name.clone(), value));
            }
        }
        env.extend(self.config.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        env.extend(self.site.env.iter().cloned());
        env
    }
}

impl AgentLauncher for HostLauncher {
    fn start(&self, request: SessionRequest) -> Result<Box<dyn AgentSession>, AgentStartError> {
        let config = &self.config;
        let settings = config
            .backends
            .get(&request.backend)
            .cloned()
            .unwrap_or_else(BackendSettings::default);
        let backend = engine_agent::backends::backend(&request.backend, &settings, &config.custom)
            .map_err(|e| AgentStartError::UnknownBackend(e.to_string()))?;
        let model = config.resolve_model(request.model.as_deref());
        let priced = model
            .as_deref()
            .is_some_and(|m| config.pricing.lookup(m).is_some());

        let spent = self.meter.total();
        let mut budget = self.budget.clone();
        if !spent.cost_known {
            budget.earlier_spend_unknown = true;
            budget.unpriced_models.extend(self.meter.unpriced_models());
        }
        let remaining = budget
            .remaining(spent.cost_usd, request.budget_usd)
            .map_err(|e| AgentStartError::BudgetExhausted(e.0))?;
        // Fails closed for this session only: its spend could be neither reported nor priced.
        if remaining.is_some() && !backend.reports_cost() && !priced {
            return Err(AgentStartError::BudgetExhausted(match model.as_deref() {
                Some(model) => format!(
                    "a budget applies but {} reports no cost and no price is known for model \
                     {model}; add a `prices:` entry for {model} to the workflow (USD per million \
                     input, output, cache_read and cache_write tokens) so its spending can be \
                     counted",
                    request.backend
                ),
                None => format!(
                    "a budget applies but {} reports no cost and the session names no model to \
                     price; set the stage's `model:` (a model id or a tier under `models:`), and \
                     add a `prices:` entry for it when it is not in the built-in price table",
                    request.backend
                ),
            }));
        }

        let n = self.sessions.fetch_add(1, Ordering::SeqCst) + 1;
        let request_backend = request.backend.clone();
        let env = self.env();
        let scratch_dir = self
            .site
            .run_dir
            .join("scratch")
            .join(format!("{}.{}.{n}", self.site.stage_id, self.site.attempt));
        std::fs::create_dir_all(&scratch_dir).map_err(|e| {
            AgentStartError::SpawnFailed(format!("cannot create {}: {e}", scratch_dir.display()))
        })?;
        let resolved = SessionRequest {
            model,
            budget_usd: remaining,
            ..request
        };
        let invocation = backend
            .invocation(InvocationContext {
                request: &resolved,
                scratch_dir: &scratch_dir,
                tiers: &config.tiers,
            })
            .map_err(|e| AgentStartError::InvalidRequest(e.to_string()))?;
        let mut limits = config.limits.clone();
        limits.max_turns = resolved.max_turns;
        limits.budget_usd = remaining;
        let before = match &self.site.untouched_base {
            Some(base) if n == 1 && !attributes_may_filter(&self.site) => Some(base.clone()),
            _ => self.site.repo.snapshot_tree(&self.site.worktree).ok(),
        };
        // Read-only for every backend: a CLI that cannot keep itself read-only works in a
        // throw-away copy of the worktree.
        let copy = (resolved.permission_mode == PermissionMode::Plan
            && !backend.enforces_read_only())
        .then(|| readonly_copy::for_session(&self.site, n, before.as_deref()))
        .transpose()?;
        let spec = SessionSpec {
            invocation,
            cwd: copy
                .as_ref()
                .map_or_else(|| self.site.worktree.clone(), |c| c.path().to_path_buf()),
            env: env.clone(),
            transcript: Self::transcript_path(&self.site, n),
            limits,
            pricing: config.pricing.clone(),
            model: resolved.model.clone(),
            redact: self.site.redact.clone(),
            confinement: self.site.sandbox.clone().map(|sandbox| {
                session_confinement(
                    sandbox,
                    &request_backend,
                    config
                        .backend_write
                        .get(&request_backend)
                        .map_or(&[], Vec::as_slice),
                    &env,
                    &scratch_dir,
                    copy.as_ref().map(|c| c.path().to_path_buf()),
                )
            }),
        };
        let parser = backend.session_parser(&resolved, &spec.env);
        let session = Session::start(spec, parser)
            .map_err(|e| AgentStartError::SpawnFailed(e.to_string()))?;
        let slot = self.meter.open_session(resolved.model.clone());
        Ok(Box::new(HostSession {
            log: self.log.clone(),
            session,
            slot,
            meter: self.meter.clone(),
            repo: self.site.repo.clone(),
            worktree: self.site.worktree.clone(),
            before,
            copy,
        }))
    }
}

/// A running session, metering its spend as usage arrives.
struct HostSession {
    /// Told about every event (the attempt log).
    log: Option<Arc<dyn crate::logs::SessionLog>>,
    session: Session,
    slot: usize,
    meter: Arc<SpendMeter>,
    repo: Repo,
    worktree: PathBuf,
    before: Option<String>,
    /// The throw-away copy a read-only session runs in (after `session`: dropped after the
    /// process is killed).
    copy: Option<ReadOnlyCopy>,
}

impl AgentSession for HostSession {
    fn next_event(&mut self) -> BoxFuture<'_, Option<AgentEvent>> {
        Box::pin(async move {
            let event = self.session.next_event().await;
            if let (Some(log), Some(event)) = (&self.log, &event) {
                log.agent_event(event);
            }
            if let Some(AgentEvent::Usage { usage }) = &event {
                let mut usage = *usage;
                let estimated = usage.cost_usd.is_none() && self.session.spent_estimated();
                usage.cost_usd = usage.cost_usd.or(self.session.spent_usd());
                self.meter.update(self.slot, &usage, estimated, None);
            }
            event
        })
    }

    fn cancel(&mut self) {
        self.session.cancel();
    }

    fn finish(self: Box<Self>) -> BoxFuture<'static, Summary> {
        Box::pin(async move {
            let HostSession {
                log: _,
                session,
                slot,
                meter,
                repo,
                worktree,
                before,
                copy,
            } = *self;
            let mut summary = session.finish().await;
            meter.update(
                slot,
                &summary.usage,
                summary.cost_estimated,
                summary.model.as_deref(),
            );
            if let Some(before) = before {
                let changed = tokio::task::spawn_blocking(move || {
                    repo.changed_since(&worktree, &before).ok()
                })
                .await
                .ok()
                .flatten();
                summary.files_changed = changed.unwrap_or_default();
            }
            if let Some(copy) = copy {
                // What the agent changed in its copy is discarded here.
                if let Ok(Err(e)) = tokio::task::spawn_blocking(move || copy.remove()).await {
                    tracing::warn!("{e} (removed by the next engine process)");
                }
            }
            summary
        })
    }
}

/// Whether a fresh checkout's files may differ from the committed blobs (then its snapshot is
/// not simply the commit's tree).
fn attributes_may_filter(site: &LaunchSite) -> bool {
    site.repo.files_may_be_converted(&site.worktree)
}

/// A session's confinement: the attempt's sandbox, plus its CLI's own state directories (made
/// when missing, so the CLI can write there), its scratch directory (inside the hidden state
/// directory) and, for a read-only session, its throw-away copy of the worktree.
fn session_confinement(
    sandbox: Arc<engine_confine::Sandbox>,
    backend: &str,
    granted: &[String],
    env: &[(String, String)],
    scratch_dir: &std::path::Path,
    copy: Option<PathBuf>,
) -> SessionConfinement {
    use crate::confine::paths::{agent_state_dirs, agent_state_files};
    let home = env
        .iter()
        .rev()
        .find(|(k, _)| k == "HOME")
        .map(|(_, v)| PathBuf::from(v));
    // The scratch directory holds the invocation's files, and some CLIs write there too
    // (aider's chat history).
    let mut writable: Vec<PathBuf> = copy.into_iter().collect();
    writable.push(scratch_dir.to_path_buf());
    for path in granted {
        if let Some(path) = crate::confine::paths::expand_home(path, home.as_deref())
            && path.exists()
        {
            writable.push(path);
        }
    }
    if let Some(home) = home.filter(|h| h.is_absolute() && h.is_dir()) {
        for dir in agent_state_dirs(backend) {
            let dir = home.join(dir);
            if std::fs::create_dir_all(&dir).is_ok() {
                writable.push(dir);
            }
        }
        for file in agent_state_files(backend) {
            let file = home.join(file);
            if file.is_file() {
                writable.push(file);
            }
        }
    }
    SessionConfinement {
        sandbox,
        extra_writable: writable,
        extra_readable: Vec::new(),
    }
}
