//! What `if:` conditions and templated `with:` values see when a run evaluates them: the task,
//! the run, every stage's result and outputs, the workflow's `env:` and (templates only) the
//! stage's secrets.

use std::collections::BTreeMap;

use engine_core::{RunStatus, StagePhase};
use serde_json::{Map, Value, json};

/// Fields of the `task` variable.
pub const TASK_FIELDS: [&str; 4] = ["id", "title", "body", "labels"];

/// Fields of the `run` variable (what the driver puts in [`Scope::run`]).
pub const RUN_FIELDS: [&str; 13] = [
    "id",
    "run_id",
    "status",
    "failed_stage",
    "message",
    "stalled",
    "resumed",
    "cost_usd",
    "cost_known",
    "duration_ms",
    "branch",
    "base_branch",
    "workflow",
];

/// Fields of each `stages.<id>` entry (what the driver puts in [`Scope::stages`]).
pub const STAGE_FIELDS: [&str; 4] = ["outputs", "result", "summary", "attempts"];

/// Root variables of an `if:` condition.
pub const CONDITION_ROOTS: [&str; 4] = ["task", "run", "stages", "env"];

/// Root variables of a templated `with:` value.
pub const TEMPLATE_ROOTS: [&str; 5] = ["task", "run", "stages", "env", "secrets"];

/// How a run ended, as `finally:` stages see it through `success()`, `failure()`,
/// `cancelled()` and `run.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminalStatus {
    /// Every stage succeeded (or was skipped).
    Succeeded,
    /// A stage failed for good.
    Failed,
    /// The run was cancelled.
    Cancelled,
    /// A stage stopped the run for a human to look (counts as a failure for `failure()`).
    NeedsAttention,
}

impl TerminalStatus {
    /// The terminal status of a run status; `None` while the run is not over.
    pub fn of(status: &RunStatus) -> Option<Self> {
        match status {
            RunStatus::Succeeded => Some(Self::Succeeded),
            RunStatus::Failed { .. } => Some(Self::Failed),
            RunStatus::Cancelled { .. } => Some(Self::Cancelled),
            RunStatus::NeedsAttention { .. } => Some(Self::NeedsAttention),
            RunStatus::Pending | RunStatus::Running => None,
        }
    }

    /// The name `run.status` has: `succeeded`, `failed`, `cancelled` or `needs_attention`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::NeedsAttention => "needs_attention",
        }
    }
}

/// The value of `stages.<id>.result` for a stage in `phase`: `succeeded`, `failed`, `skipped`,
/// `cancelled`, or `pending` for a stage that has not finished (waiting, running, retrying or
/// awaiting approval).
pub fn stage_result(phase: &StagePhase) -> &'static str {
    match phase {
        StagePhase::Succeeded => "succeeded",
        StagePhase::Failed => "failed",
        StagePhase::Skipped => "skipped",
        StagePhase::Cancelled => "cancelled",
        _ => "pending",
    }
}

/// Everything a condition or a template may refer to, as JSON. The driver builds it from the
/// run's state; validation checks field names against [`TASK_FIELDS`], [`RUN_FIELDS`] and
/// [`STAGE_FIELDS`] and evaluates conditions over a sample with the same shape, so the three
/// must agree with what the driver puts here.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    /// `task`: `{id, title, body, labels}`.
    pub task: Value,
    /// `run`: the [`RUN_FIELDS`]; `status` is `running` while stages run and the terminal
    /// status's name (`succeeded`, `failed`, `cancelled`, `needs_attention`) in `finally:`
    /// stages.
    pub run: Value,
    /// `stages`: `{<id>: {outputs, result, summary, attempts}}` for every stage of the run;
    /// `result` as given by [`stage_result`].
    pub stages: Value,
    /// `env`: the workflow's `env:` mapping.
    pub env: Value,
    /// `secrets`: the values of the secrets the stage lists (templates only; conditions never
    /// see secrets). Empty unless set with [`Scope::with_secrets`].
    pub secrets: BTreeMap<String, String>,
    /// How the run ended, for `finally:` stages; `None` for the stages of the run itself.
    pub terminal: Option<TerminalStatus>,
}

impl Scope {
    /// Sets the secrets templates may use (`{{ secrets.NAME }}`): only those the stage lists,
    /// e.g. from [`crate::read_secrets`].
    #[must_use]
    pub fn with_secrets(mut self, secrets: BTreeMap<String, String>) -> Self {
        self.secrets = secrets;
        self
    }

    /// The context templates are rendered with: `{task, run, stages, env, secrets}`.
    pub(crate) fn template_context(&self) -> Value {
        json!({
            "task": self.task,
            "run": self.run,
            "stages": self.stages,
            "env": self.env,
            "secrets": self.secrets,
        })
    }

    /// A typed stand-in for validation: every stage succeeded with no outputs, the task and
    /// run have values of the types the driver gives them.
    pub(crate) fn sample<'a>(
        stage_ids: impl IntoIterator<Item = &'a str>,
        env: &BTreeMap<String, String>,
        terminal: Option<TerminalStatus>,
    ) -> Self {
        let stages: Map<String, Value> = stage_ids
            .into_iter()
            .map(|id| {
                let entry = json!({"result": "succeeded", "outputs": {}, "summary": "done",
                                   "attempts": 1u32});
                (id.to_string(), entry)
            })
            .collect();
        Scope {
            task: json!({"id": "T-1", "title": "sample title", "body": "sample body",
                         "labels": ["sample"]}),
            run: json!({
                "id": "sample-run",
                "run_id": "sample-run",
                "status": terminal.map_or("running", TerminalStatus::name),
                "failed_stage": null,
                "message": "",
                "stalled": false,
                "resumed": false,
                "cost_usd": 0.5f64,
                "cost_known": true,
                "duration_ms": 1000u64,
                "branch": "engine/T-1-sample",
                "base_branch": "main",
                "workflow": "sample",
            }),
            stages: Value::Object(stages),
            env: env_value(env),
            secrets: BTreeMap::new(),
            terminal,
        }
    }
}

fn env_value(env: &BTreeMap<String, String>) -> Value {
    Value::Object(
        env.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// A secret a stage lists that the engine's environment does not set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "secret {name} is not set: export {name} in the environment engine runs in (stage secrets \
     are read from it when the stage starts)"
)]
pub struct MissingSecret {
    /// The environment variable's name.
    pub name: String,
}

/// The values of the environment variables `names` (a stage's `secrets:`), read from the
/// engine process's environment.
pub fn read_secrets(names: &[String]) -> Result<BTreeMap<String, String>, MissingSecret> {
    names
        .iter()
        .map(|name| match std::env::var(name) {
            Ok(value) => Ok((name.clone(), value)),
            Err(_) => Err(MissingSecret { name: name.clone() }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_has_every_documented_field() {
        let sample = Scope::sample(["a"], &BTreeMap::new(), None);
        let keys = |value: &Value| -> Vec<String> {
            let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
            keys.sort();
            keys
        };
        let sorted = |fields: &[&str]| -> Vec<String> {
            let mut fields: Vec<String> = fields
                .iter()
                .map(std::string::ToString::to_string)
                .collect();
            fields.sort();
            fields
        };
        assert_eq!(keys(&sample.task), sorted(&TASK_FIELDS));
        assert_eq!(keys(&sample.run), sorted(&RUN_FIELDS));
        assert_eq!(keys(&sample.stages["a"]), sorted(&STAGE_FIELDS));
        assert_eq!(sample.run["status"], "running");
        let finally = Scope::sample(["a"], &BTreeMap::new(), Some(TerminalStatus::Failed));
        assert_eq!(finally.run["status"], "failed");
    }

    #[test]
    fn terminal_statuses() {
        assert_eq!(TerminalStatus::of(&RunStatus::Running), None);
        assert_eq!(
            TerminalStatus::of(&RunStatus::Succeeded),
            Some(TerminalStatus::Succeeded)
        );
        let attention = RunStatus::NeedsAttention {
            stage: "triage".into(),
            reason: "vague".into(),
        };
        assert_eq!(
            TerminalStatus::of(&attention),
            Some(TerminalStatus::NeedsAttention)
        );
        assert_eq!(TerminalStatus::NeedsAttention.name(), attention.name());
        assert_eq!(stage_result(&StagePhase::Skipped), "skipped");
        assert_eq!(stage_result(&StagePhase::Running { attempt: 1 }), "pending");
    }

    #[test]
    fn secrets_come_from_the_environment() {
        // PATH is set wherever tests run; this name is set nowhere.
        let found = read_secrets(&["PATH".to_string()]).unwrap();
        assert_eq!(found.get("PATH"), std::env::var("PATH").ok().as_ref());
        let missing = read_secrets(&["ENGINE_TEST_SURELY_UNSET_SECRET".to_string()]);
        assert_eq!(
            missing,
            Err(MissingSecret {
                name: "ENGINE_TEST_SURELY_UNSET_SECRET".into()
            })
        );
    }
}
