//! The variables a notifier's templates see: `task`, `run` and `stages`.

use std::collections::BTreeMap;

use engine_stage_sdk::Task;
use serde_json::{Map, Value, json};

/// The name of the pseudo stage whose outputs hold the run's facts.
const RUN_ENTRY: &str = "@run";

/// What a notifier knows about the run, from the context.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFacts<'a> {
    /// The run's id.
    pub run_id: &'a str,
    /// The stage's id.
    pub stage_id: &'a str,
    /// The task.
    pub task: &'a Task,
    /// Outputs of earlier stages, including the `@run` pseudo entry when the engine sends it.
    pub outputs: &'a BTreeMap<String, Value>,
}

/// `{task, run, stages}` for the templates:
/// - `task`: `id`, `title`, `body`, `labels`;
/// - `run`: the `@run` entry's fields (`status`, `message`, `failed_stage`, `cost_usd`,
///   `duration_ms`, ...) plus `id`/`run_id`; `status` is `running` when the engine did not say
///   (a notifier among the ordinary stages runs while the run is still going);
/// - `stages`: `stages.<id>.outputs` of every earlier stage.
pub fn message_context(facts: &RunFacts<'_>) -> Value {
    let mut run = match facts.outputs.get(RUN_ENTRY) {
        Some(Value::Object(map)) => map.clone(),
        _ => Map::new(),
    };
    run.entry("run_id")
        .or_insert_with(|| Value::String(facts.run_id.to_string()));
    run.entry("id")
        .or_insert_with(|| Value::String(facts.run_id.to_string()));
    run.entry("status")
        .or_insert_with(|| Value::String("running".to_string()));
    let stages: Map<String, Value> = facts
        .outputs
        .iter()
        .filter(|(stage, _)| stage.as_str() != RUN_ENTRY)
        .map(|(stage, outputs)| (stage.clone(), json!({ "outputs": outputs })))
        .collect();
    json!({
        "task": {
            "id": facts.task.id,
            "title": facts.task.title,
            "body": facts.task.body,
            "labels": facts.task.labels,
        },
        "run": run,
        "stage": { "id": facts.stage_id },
        "stages": stages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> Task {
        Task {
            id: "t1".into(),
            title: "Add --json".into(),
            body: "body".into(),
            labels: vec!["cli".into()],
        }
    }

    #[test]
    fn run_facts_come_from_the_run_entry() {
        let mut outputs = BTreeMap::new();
        outputs.insert(
            "@run".to_string(),
            json!({"status": "failed", "failed_stage": "test", "cost_usd": 0.5}),
        );
        outputs.insert("review".to_string(), json!({"verdict": "approve"}));
        let task = task();
        let ctx = message_context(&RunFacts {
            run_id: "r1",
            stage_id: "notify",
            task: &task,
            outputs: &outputs,
        });
        assert_eq!(ctx["run"]["status"], "failed");
        assert_eq!(ctx["run"]["failed_stage"], "test");
        assert_eq!(ctx["run"]["id"], "r1");
        assert_eq!(ctx["task"]["title"], "Add --json");
        assert_eq!(ctx["stages"]["review"]["outputs"]["verdict"], "approve");
        assert!(ctx["stages"].get("@run").is_none());
    }

    #[test]
    fn a_missing_run_entry_means_a_running_run() {
        let task = task();
        let outputs = BTreeMap::new();
        let ctx = message_context(&RunFacts {
            run_id: "r1",
            stage_id: "notify",
            task: &task,
            outputs: &outputs,
        });
        assert_eq!(ctx["run"]["status"], "running");
        assert_eq!(ctx["run"]["run_id"], "r1");
        assert_eq!(ctx["stages"], json!({}));
    }
}
