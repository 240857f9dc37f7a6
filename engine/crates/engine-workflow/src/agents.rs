//! The workflow's agent settings: model tiers, budgets, prices, backend settings, custom
//! backends, the agents' environment and the supervision limits.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::diagnostic::Problem;
use crate::field_path::FieldPath;
use crate::limits::duration;

/// Spending limits in USD.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Budget {
    /// Limit of one run.
    pub run_usd: Option<f64>,
    /// Limit of all runs of the state directory per UTC day.
    pub day_usd: Option<f64>,
}

/// USD per million tokens of one model.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Price {
    /// Input tokens.
    pub input: f64,
    /// Output tokens.
    pub output: f64,
    /// Cache-read tokens.
    pub cache_read: f64,
    /// Cache-write tokens.
    pub cache_write: f64,
}

/// Supervision limits as written in the workflow (milliseconds); `None` = the host's default.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SupervisionLimits {
    /// No output and no tool running.
    pub inactivity_ms: Option<u64>,
    /// Warning after no output and no tool running.
    pub frozen_warning_ms: Option<u64>,
    /// No output at all.
    pub silence_backstop_ms: Option<u64>,
    /// Quick tool warning.
    pub quick_tool_warn_ms: Option<u64>,
    /// Quick tool kill.
    pub quick_tool_kill_ms: Option<u64>,
    /// Long tool warning.
    pub long_tool_warn_ms: Option<u64>,
    /// Long tool kill.
    pub long_tool_kill_ms: Option<u64>,
    /// Tools judged as long-running.
    pub long_tools: Option<Vec<String>>,
    /// Grace after the result.
    pub post_result_grace_ms: Option<u64>,
}

/// Per-backend settings (`agents.backends.<name>`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BackendOverride {
    /// Replaces the CLI program (and may add leading arguments).
    pub command: Option<Vec<String>>,
    /// Arguments appended to every invocation.
    pub extra_args: Vec<String>,
    /// Paths this backend's sessions may write besides the worktree (`write:`; absolute or
    /// `~/...`): the CLI's own state directory when it is not a built-in one's.
    pub write: Vec<String>,
}

/// Everything the workflow says about agents.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AgentSettings {
    /// Model tiers: tier name -> model id.
    pub models: BTreeMap<String, String>,
    /// Spending limits.
    pub budget: Budget,
    /// Prices by model id.
    pub prices: BTreeMap<String, Price>,
    /// Settings per built-in backend.
    pub backends: BTreeMap<String, BackendOverride>,
    /// Custom backends by name, as written (the host checks their shape).
    pub custom: BTreeMap<String, Value>,
    /// Environment for agent processes.
    pub env: BTreeMap<String, String>,
    /// Host environment variables passed through to agents.
    pub secrets: Vec<String>,
    /// Supervision limits.
    pub limits: SupervisionLimits,
}

/// Reads the agent settings from the document's root; value problems go to `problems`.
pub(crate) fn read_agent_settings(
    root: &Map<String, Value>,
    problems: &mut Vec<Problem>,
) -> AgentSettings {
    let agents = root.get("agents").and_then(Value::as_object);
    let agent_field = |name: &str| agents.and_then(|a| a.get(name));
    let budget = root.get("budget").and_then(Value::as_object);
    let limits = agent_field("limits").and_then(Value::as_object);
    let limits_path = FieldPath::keys(&["agents", "limits"]);
    let mut limit = |name: &str| {
        duration(
            limits.and_then(|l| l.get(name)),
            &limits_path.key(name),
            problems,
        )
    };
    let limits = SupervisionLimits {
        inactivity_ms: limit("inactivity"),
        frozen_warning_ms: limit("frozen_warning"),
        silence_backstop_ms: limit("silence_backstop"),
        quick_tool_warn_ms: limit("quick_tool_warn"),
        quick_tool_kill_ms: limit("quick_tool_kill"),
        long_tool_warn_ms: limit("long_tool_warn"),
        long_tool_kill_ms: limit("long_tool_kill"),
        post_result_grace_ms: limit("post_result_grace"),
        long_tools: limits
            .and_then(|l| l.get("long_tools"))
            .map(|v| strings(Some(v))),
    };
    AgentSettings {
        models: string_map(root.get("models")),
        budget: Budget {
            run_usd: budget
                .and_then(|b| b.get("run_usd"))
                .and_then(Value::as_f64),
            day_usd: budget
                .and_then(|b| b.get("day_usd"))
                .and_then(Value::as_f64),
        },
        prices: root
            .get("prices")
            .and_then(Value::as_object)
            .map(|prices| {
                prices
                    .iter()
                    .map(|(model, p)| {
                        let n = |k: &str| p.get(k).and_then(Value::as_f64).unwrap_or(0.0);
                        let price = Price {
                            input: n("input"),
                            output: n("output"),
                            cache_read: n("cache_read"),
                            cache_write: n("cache_write"),
                        };
                        (model.clone(), price)
                    })
                    .collect()
            })
            .unwrap_or_default(),
        backends: agent_field("backends")
            .and_then(Value::as_object)
            .map(|backends| {
                backends
                    .iter()
                    .map(|(name, b)| {
                        let settings = BackendOverride {
                            command: b.get("command").map(|c| strings(Some(c))),
                            extra_args: strings(b.get("extra_args")),
                            write: strings(b.get("write")),
                        };
                        (name.clone(), settings)
                    })
                    .collect()
            })
            .unwrap_or_default(),
        custom: agent_field("custom")
            .and_then(Value::as_object)
            .map(|c| c.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        env: string_map(agent_field("env")),
        secrets: strings(agent_field("secrets")),
        limits,
    }
}

fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| Some(i.as_str()?.to_string()))
                .collect()
        })
        .unwrap_or_default()
}
