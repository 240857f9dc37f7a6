//! The gates of the task's skill: the host passes them in the `@spec` outputs, each marked with
//! whether the run's change touched a file matching its pattern (`matched`). The matching ones
//! run after the stage's own `commands`, named `<skill>: <name or pattern>`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::config::{CommandSpec, DetailedCommand, GateConfig, RunSpec};

/// The outputs key under which the host passes the constitution and the task's skill.
pub const SPEC_OUTPUTS: &str = "@spec";

/// The skill's gates, split by whether the change touched their pattern.
#[derive(Debug, Clone, Default)]
pub struct SkillGates {
    /// The skill's name.
    pub skill: String,
    /// Gates to run: `(shown name, command)`.
    pub run: Vec<(String, RunSpec)>,
    /// Patterns no changed file matched.
    pub skipped: Vec<String>,
}

/// The task's skill gates from `outputs`; `None` without a skill or when the host did not know
/// the change (no worktree).
pub fn from_outputs(outputs: &BTreeMap<String, Value>) -> Result<Option<SkillGates>, String> {
    let Some(skill) = outputs.get(SPEC_OUTPUTS).and_then(|s| s.get("skill")) else {
        return Ok(None);
    };
    if skill.get("changes_known") != Some(&Value::Bool(true)) {
        return Ok(None);
    }
    let name = skill
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut gates = SkillGates {
        skill: name.clone(),
        ..SkillGates::default()
    };
    for gate in skill
        .get("gates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let pattern = gate
            .get("pattern")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if gate.get("matched") != Some(&Value::Bool(true)) {
            gates.skipped.push(pattern.to_string());
            continue;
        }
        let run = match gate.get("command") {
            Some(Value::String(line)) => RunSpec::Line(line.clone()),
            Some(Value::Array(items)) => RunSpec::Argv(
                items
                    .iter()
                    .map(|i| i.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| format!("skill {name:?}: the gate for {pattern:?} has a command that is not a list of strings"))?,
            ),
            _ => {
                return Err(format!(
                    "skill {name:?}: the gate for {pattern:?} has no command"
                ));
            }
        };
        let shown = gate
            .get("name")
            .and_then(Value::as_str)
            .map_or_else(|| pattern.to_string(), str::to_string);
        gates.run.push((format!("{name}: {shown}"), run));
    }
    Ok(Some(gates))
}

/// `config` with the matching skill gates added after its own commands.
pub fn with_skill_gates(config: &GateConfig, gates: &SkillGates) -> GateConfig {
    let mut config = config.clone();
    config.commands.extend(gates.run.iter().map(|(name, run)| {
        CommandSpec::Detailed(DetailedCommand {
            run: run.clone(),
            timeout: None,
            name: Some(name.clone()),
            parser: None,
        })
    }));
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn outputs(skill: &Value) -> BTreeMap<String, Value> {
        BTreeMap::from([(SPEC_OUTPUTS.to_string(), json!({ "skill": skill }))])
    }

    #[test]
    fn only_matching_gates_run_named_after_the_skill() {
        let out = outputs(&json!({
            "name": "web", "changes_known": true,
            "gates": [
                {"pattern": "*.rs", "command": "cargo test", "matched": true},
                {"pattern": "docs/**", "command": ["make", "docs"], "name": "docs", "matched": false},
                {"pattern": "*.py", "command": ["pytest"], "name": "py", "matched": true},
            ],
        }));
        let gates = from_outputs(&out).unwrap().unwrap();
        assert_eq!(gates.skipped, vec!["docs/**"]);
        let names: Vec<&str> = gates.run.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, vec!["web: *.rs", "web: py"]);
        let config: GateConfig = serde_json::from_value(json!({"commands": ["true"]})).unwrap();
        let prepared = with_skill_gates(&config, &gates).prepare().unwrap();
        let argv: Vec<Vec<String>> = prepared.iter().map(|p| p.argv.clone()).collect();
        assert_eq!(
            argv,
            vec![vec!["true"], vec!["cargo", "test"], vec!["pytest"]]
        );
    }

    #[test]
    fn nothing_without_a_skill_or_known_changes() {
        assert!(from_outputs(&BTreeMap::new()).unwrap().is_none());
        let out = outputs(&json!({"name": "web", "gates": [{"pattern": "*", "command": "x"}]}));
        assert!(from_outputs(&out).unwrap().is_none());
    }
}
