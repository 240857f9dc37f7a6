//! The workflow's agent settings turned into what `engine-agent` takes, checked once when the
//! workflow is prepared (a bad custom backend is a validation error with its location).

use std::collections::BTreeMap;
use std::time::Duration;

use engine_agent::BackendSettings;
use engine_agent::backends::{BUILTIN_BACKENDS, CustomBackendConfig};
use engine_agent::supervise::{Limits, PriceTable, Prices, Pricing};
use engine_workflow::{Diagnostic, LoadedWorkflow};

/// How agents run for one workflow.
#[derive(Debug, Clone, Default)]
pub struct AgentConfig {
    /// Tier name -> model id.
    pub tiers: BTreeMap<String, String>,
    /// Settings per built-in backend.
    pub backends: BTreeMap<String, BackendSettings>,
    /// Custom backends.
    pub custom: BTreeMap<String, CustomBackendConfig>,
    /// Token prices: the workflow's `prices:` over the built-in table.
    pub pricing: Pricing,
    /// Environment for agent processes (the workflow's `agents.env`).
    pub env: BTreeMap<String, String>,
    /// Host variables passed through.
    pub secrets: Vec<String>,
    /// Supervision limits (max turns and budget are set per session).
    pub limits: Limits,
    /// `budget.run_usd`.
    pub run_budget_usd: Option<f64>,
    /// `budget.day_usd`.
    pub day_budget_usd: Option<f64>,
    /// Extra writable paths of each backend's sessions (`agents.backends.<name>.write`, as
    /// written: `~/` is expanded against the session's home).
    pub backend_write: BTreeMap<String, Vec<String>>,
}

impl AgentConfig {
    /// Builds the config; problems are reported as diagnostics at their place in the file.
    pub fn from_workflow(loaded: &LoadedWorkflow) -> Result<AgentConfig, Vec<Diagnostic>> {
        let settings = &loaded.agents;
        let mut problems = Vec::new();
        let mut diagnostic =
            |field: String, message: String| problems.push(loaded.diagnostic(&field, message));
        let mut backends = BTreeMap::new();
        let mut backend_write = BTreeMap::new();
        for (name, o) in &settings.backends {
            if !BUILTIN_BACKENDS.contains(&name.as_str()) {
                let hint = engine_workflow::closest(name, BUILTIN_BACKENDS.iter().copied())
                    .map(|near| format!("did you mean {near:?}? "))
                    .unwrap_or_default();
                diagnostic(
                    format!("agents.backends.{name}"),
                    format!(
                        "unknown backend {name:?} ({hint}built-in backends: {}; declare other \
                         CLIs under agents.custom)",
                        BUILTIN_BACKENDS.join(", ")
                    ),
                );
                continue;
            }
            backends.insert(
                name.clone(),
                BackendSettings {
                    command: o.command.clone(),
                    extra_args: o.extra_args.clone(),
                },
            );
            for (index, path) in o.write.iter().enumerate() {
                let absolute = path.starts_with('/') || path.starts_with("~/");
                if !absolute || path.split('/').any(|p| p == "..") {
                    diagnostic(
                        format!("agents.backends.{name}.write[{index}]"),
                        format!(
                            "`{path}` must be an absolute path or start with `~/`, without `..`"
                        ),
                    );
                }
            }
            backend_write.insert(name.clone(), o.write.clone());
        }
        let mut custom = BTreeMap::new();
        for (name, value) in &settings.custom {
            if BUILTIN_BACKENDS.contains(&name.as_str()) {
                diagnostic(
                    format!("agents.custom.{name}"),
                    format!("{name:?} is a built-in backend; give the custom one another name"),
                );
                continue;
            }
            match serde_json::from_value::<CustomBackendConfig>(value.clone()) {
                Ok(config) => {
                    // Building the backend checks the template and the regexes.
                    if let Err(e) = engine_agent::backends::backend(
                        name,
                        &BackendSettings::default(),
                        &BTreeMap::from([(name.clone(), config.clone())]),
                    ) {
                        diagnostic(format!("agents.custom.{name}"), e.to_string());
                    }
                    custom.insert(name.clone(), config);
                }
                Err(e) => diagnostic(format!("agents.custom.{name}"), e.to_string()),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let l = &settings.limits;
        let defaults = Limits::default();
        let ms =
            |value: Option<u64>, default: Duration| value.map_or(default, Duration::from_millis);
        let limits = Limits {
            inactivity: ms(l.inactivity_ms, defaults.inactivity),
            frozen_warning: ms(l.frozen_warning_ms, defaults.frozen_warning),
            silence_backstop: ms(l.silence_backstop_ms, defaults.silence_backstop),
            quick_tool_warn: ms(l.quick_tool_warn_ms, defaults.quick_tool_warn),
            quick_tool_kill: ms(l.quick_tool_kill_ms, defaults.quick_tool_kill),
            long_tool_warn: ms(l.long_tool_warn_ms, defaults.long_tool_warn),
            long_tool_kill: ms(l.long_tool_kill_ms, defaults.long_tool_kill),
            long_tools: l.long_tools.clone().unwrap_or(defaults.long_tools.clone()),
            post_result_grace: ms(l.post_result_grace_ms, defaults.post_result_grace),
            max_turns: None,
            budget_usd: None,
        };
        Ok(AgentConfig {
            tiers: settings.models.clone(),
            backends,
            custom,
            pricing: Pricing::with_workflow(PriceTable::new(settings.prices.iter().map(
                |(model, p)| {
                    let prices = Prices {
                        input_per_mtok: p.input,
                        output_per_mtok: p.output,
                        cache_read_per_mtok: p.cache_read,
                        cache_write_per_mtok: p.cache_write,
                    };
                    (model.clone(), prices)
                },
            ))),
            env: settings.env.clone(),
            secrets: settings.secrets.clone(),
            limits,
            run_budget_usd: settings.budget.run_usd,
            day_budget_usd: settings.budget.day_usd,
            backend_write,
        })
    }

    /// A tier name resolved to its model id; anything else is taken as a model id.
    pub fn resolve_model(&self, model: Option<&str>) -> Option<String> {
        model.map(|m| self.tiers.get(m).cloned().unwrap_or_else(|| m.to_string()))
    }
}
