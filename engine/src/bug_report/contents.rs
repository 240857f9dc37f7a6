//! What a bug report holds about a run, read from the state directory before anything is
//! redacted: its record and events (as `engine show --json` prints them), its attempt logs (as
//! `engine logs` prints them), the workflow it ran, and the parts of that workflow that say
//! how it ran (task source, agents and backends, sandbox, git, limits).

use std::path::Path;

use engine_core::Event;
use engine_store::{
    RunRecord, StateDir, Store, StoreError, lock_holder, read_mirror, read_mirrors,
};
use serde_json::{Map, Value, json};

use crate::EngineError;
use crate::history::order::{ShowDocument, StageOrder};
use crate::logs::follow::stream;
use crate::logs::read::Selection;

/// A run as a bug report reads it.
pub struct RunContents {
    /// Its facts and latest snapshot.
    pub record: RunRecord,
    /// Its events with their seq numbers.
    pub events: Vec<(u64, Event)>,
}

/// What a bug report without runs says (exit 2).
fn no_runs(dir: &Path) -> EngineError {
    EngineError::UnknownRun(format!(
        "no runs yet in {}: nothing to report (start one with `engine run`, or name the state \
         directory with --state-dir)",
        dir.display()
    ))
}

/// Run `run` (an id or a unique prefix; the latest when `None`) of state directory `dir`, from
/// the store when no process holds the directory, else from the holder's mirrors.
pub fn load_run(dir: &Path, run: Option<&str>) -> Result<RunContents, EngineError> {
    if !dir.exists() {
        return Err(match run {
            Some(run) => EngineError::UnknownRun(format!(
                "no run {:?}: {} does not exist",
                crate::terminal::safe(run),
                dir.display()
            )),
            None => no_runs(dir),
        });
    }
    if lock_holder(dir).is_none() {
        match StateDir::open_locked(dir, "engine bug-report") {
            Ok(state_dir) => {
                let store = state_dir.store();
                let run_id =
                    crate::history::named_or_latest(store, run)?.ok_or_else(|| no_runs(dir))?;
                let record = store
                    .load(&run_id)?
                    .ok_or_else(|| EngineError::UnknownRun(format!("no run {run_id}")))?;
                let events = store.events(&run_id)?;
                return Ok(RunContents { record, events });
            }
            // Taken in the meantime: read the new holder's mirrors.
            Err(StoreError::Busy { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let run_id = match run {
        Some(run) => run.to_string(),
        None => read_mirrors(dir)?
            .runs
            .into_iter()
            .next()
            .map(|r| r.meta.run_id)
            .ok_or_else(|| no_runs(dir))?,
    };
    let mirrored = read_mirror(dir, &run_id)?;
    Ok(RunContents {
        record: mirrored.record,
        events: mirrored.events,
    })
}

impl RunContents {
    /// `engine show --json` of the run: `{meta, state, events}`, stages in pipeline order.
    pub fn show_json(&self) -> Result<Value, EngineError> {
        let order = StageOrder::of_run(&self.record.meta, &self.record.state);
        let document = ShowDocument::new(
            &self.record,
            &order,
            self.events.iter().map(|(seq, e)| (*seq, e)),
        );
        serde_json::to_value(document)
            .map_err(|e| EngineError::Internal(format!("cannot render the run: {e}")))
    }

    /// Every line of the run's attempt logs, as `engine logs RUN` prints them into a file.
    pub fn log_text(&self, dir: &Path) -> Result<String, EngineError> {
        let mut text = String::new();
        stream(dir, &self.record, &Selection::default(), false, |line| {
            text.push_str(&line.render(false));
            text.push('\n');
        })?;
        Ok(text)
    }
}

/// The workflow `source` (YAML) as a JSON value; `None` when it does not parse.
pub fn workflow_document(source: &str) -> Option<Value> {
    serde_yaml::from_str::<Value>(source).ok()
}

/// The names of every secret a workflow document names: the items of each `secrets:` list,
/// wherever it is (stages, `finally:`, `agents:`, `tasks:`).
pub fn secret_names(document: &Value) -> Vec<String> {
    let mut names = Vec::new();
    collect_secret_names(document, &mut names);
    names.sort();
    names.dedup();
    names
}

fn collect_secret_names(value: &Value, names: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "secrets"
                    && let Some(items) = v.as_array()
                {
                    names.extend(items.iter().filter_map(Value::as_str).map(str::to_string));
                }
                collect_secret_names(v, names);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_secret_names(v, names)),
        _ => {}
    }
}

/// `config.json`: how the run was set up. The workflow's sections that say how runs go
/// (`tasks`, `models`, `budget`, `prices`, `agents` without the values of `agents.env`,
/// `sandbox`, `git`, `limits`, `concurrency`, `caches`), the names of `env:` (not their
/// values), each stage's plugin, backend, secrets' names and permissions, and whether each
/// secret the workflow names is set in this environment.
pub fn config_json(document: Option<&Value>, is_set: impl Fn(&str) -> bool) -> Value {
    let Some(root) = document.and_then(Value::as_object) else {
        return json!({"note": "the workflow could not be parsed; see workflow.yaml"});
    };
    let mut config = Map::new();
    for key in [
        "name",
        "tasks",
        "models",
        "budget",
        "prices",
        "sandbox",
        "git",
        "limits",
        "concurrency",
        "caches",
    ] {
        if let Some(v) = root.get(key) {
            config.insert(key.into(), v.clone());
        }
    }
    if let Some(agents) = root.get("agents").and_then(Value::as_object) {
        let mut agents = agents.clone();
        if let Some(env) = agents.get_mut("env") {
            *env = keys_only(env);
        }
        config.insert("agents".into(), Value::Object(agents));
    }
    if let Some(env) = root.get("env") {
        config.insert("env".into(), keys_only(env));
    }
    let mut stages = Map::new();
    for section in ["stages", "finally"] {
        let Some(map) = root.get(section).and_then(Value::as_object) else {
            continue;
        };
        for (id, stage) in map {
            let pick = |key: &str| stage.get(key).cloned().unwrap_or(Value::Null);
            let backend = stage
                .get("with")
                .and_then(|w| w.get("backend"))
                .cloned()
                .unwrap_or(Value::Null);
            stages.insert(
                id.clone(),
                json!({
                    "section": section,
                    "uses": pick("uses"),
                    "backend": backend,
                    "secrets": pick("secrets"),
                    "permissions": pick("permissions"),
                }),
            );
        }
    }
    config.insert("stages".into(), Value::Object(stages));
    let secrets: Map<String, Value> = secret_names(&Value::Object(root.clone()))
        .into_iter()
        .map(|name| {
            let set = is_set(&name);
            (name, json!({"set_in_this_environment": set}))
        })
        .collect();
    config.insert("secrets".into(), Value::Object(secrets));
    Value::Object(config)
}

/// A mapping's keys with `"[value left out]"` for each value.
fn keys_only(value: &Value) -> Value {
    match value.as_object() {
        Some(map) => Value::Object(
            map.keys()
                .map(|k| (k.clone(), Value::String("[value left out]".into())))
                .collect(),
        ),
        None => Value::String("[left out]".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORKFLOW: &str = "
name: w
env: { DB_URL: postgres://x }
agents:
  secrets: [OPENAI_API_KEY]
  env: { HOME_TOKEN: abc }
  backends: { claude: { command: [claude] } }
stages:
  build:
    uses: builtin:agent
    secrets: [GH_TOKEN]
    with: { backend: claude, prompt: p }
    permissions: { agent: true }
finally:
  note: { uses: builtin:webhook, secrets: [HOOK_SECRET] }
";

    #[test]
    fn secret_names_come_from_every_secrets_list() {
        let doc = workflow_document(WORKFLOW).unwrap();
        assert_eq!(
            secret_names(&doc),
            ["GH_TOKEN", "HOOK_SECRET", "OPENAI_API_KEY"]
        );
    }

    #[test]
    fn the_config_keeps_setup_and_leaves_values_of_env_out() {
        let doc = workflow_document(WORKFLOW).unwrap();
        let config = config_json(Some(&doc), |name| name == "GH_TOKEN");
        assert_eq!(config["env"], json!({"DB_URL": "[value left out]"}));
        assert_eq!(
            config["agents"]["env"],
            json!({"HOME_TOKEN": "[value left out]"})
        );
        assert_eq!(config["stages"]["build"]["backend"], "claude");
        assert_eq!(config["stages"]["note"]["section"], "finally");
        assert_eq!(
            config["secrets"]["GH_TOKEN"]["set_in_this_environment"],
            true
        );
        assert_eq!(
            config["secrets"]["HOOK_SECRET"]["set_in_this_environment"],
            false
        );
        assert!(config_json(None, |_| false)["note"].is_string());
    }
}
