//! Secrets: values of environment variables of the engine process that a workflow names
//! (`secrets:` of a stage, `agents.secrets`). A stage sees only the secrets it names, through
//! `{{ secrets.NAME }}` in its `with:`; every secret value is redacted from what the engine
//! writes down (attempt logs, progress output, stored summaries, outputs and failures, agent
//! transcripts).

use std::collections::BTreeMap;

use engine_workflow::{LoadedWorkflow, StageDef};
use serde_json::Value;

/// The environment variables of the engine process a run of `loaded` reads: `PATH` (which
/// finds gate programs and agent CLIs), every stage's `secrets:` and `agents.secrets`.
pub fn environment_read(loaded: &LoadedWorkflow) -> std::collections::BTreeSet<String> {
    let mut names: std::collections::BTreeSet<String> = loaded
        .stage_defs()
        .chain(loaded.finally_defs())
        .flat_map(|def| def.spec.secrets.iter().cloned())
        .chain(loaded.agents.secrets.iter().cloned())
        .collect();
    names.insert("PATH".into());
    names
}

/// This process's environment as digests (variable → SHA-256 of its value, hex): enough to tell
/// whether another process sees the same values, without handing the values over.
pub fn environment_digests() -> BTreeMap<String, String> {
    use sha2::{Digest, Sha256};
    std::env::vars_os()
        .filter_map(|(name, value)| {
            let name = name.into_string().ok()?;
            let digest = hex::encode(Sha256::digest(value.as_encoded_bytes()));
            Some((name, digest))
        })
        .collect()
}

/// The variables of `names` whose values differ between this process and the one whose
/// [`environment_digests`] are `theirs` (set in one and not the other counts).
pub fn differing(
    names: &std::collections::BTreeSet<String>,
    theirs: &BTreeMap<String, String>,
) -> Vec<String> {
    let ours = environment_digests();
    names
        .iter()
        .filter(|name| ours.get(*name) != theirs.get(*name))
        .cloned()
        .collect()
}

/// What a secret value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Replaces secret values in text.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Secret values, longest first (so a secret containing another is replaced whole).
    values: Vec<String>,
}

impl Redactor {
    /// A redactor for these values (empty ones are ignored).
    pub fn new(values: impl IntoIterator<Item = String>) -> Self {
        let mut values: Vec<String> = values.into_iter().filter(|v| !v.is_empty()).collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        Redactor { values }
    }

    /// The values of every secret the stages of `loaded` and `agent_secrets` name that is set
    /// in the engine's environment.
    pub fn for_workflow(loaded: &LoadedWorkflow, agent_secrets: &[String]) -> Self {
        let names = loaded
            .stage_defs()
            .chain(loaded.finally_defs())
            .flat_map(|def| def.spec.secrets.iter())
            .chain(agent_secrets);
        Redactor::new(names.filter_map(|name| std::env::var(name).ok()))
    }

    /// The secret values (for handing to other writers, such as agent transcripts).
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// `text` with every secret value replaced by [`REDACTED`].
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for value in &self.values {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), REDACTED);
            }
        }
        out
    }

    /// Redacts every string (and object key) inside a JSON value.
    pub fn json(&self, value: &mut Value) {
        if self.values.is_empty() {
            return;
        }
        match value {
            Value::String(s) => *s = self.text(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.json(v)),
            Value::Object(map) => {
                let entries = std::mem::take(map);
                for (key, mut v) in entries {
                    self.json(&mut v);
                    map.insert(self.text(&key), v);
                }
            }
            _ => {}
        }
    }
}

/// The secrets a stage names, with their values from the engine's environment. A secret that
/// is not set is an error naming it and the stage (the stage cannot do its job without it).
pub fn stage_secrets(def: StageDef<'_>) -> Result<BTreeMap<String, String>, String> {
    engine_workflow::read_secrets(&def.spec.secrets)
        .map_err(|e| format!("stage {:?}: {e}", def.stage.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_variables_that_differ_are_named() {
        let names: std::collections::BTreeSet<String> = [
            "PATH".to_string(),
            "ENGINE_SURELY_UNSET_VARIABLE".to_string(),
        ]
        .into_iter()
        .collect();
        let mut theirs = environment_digests();
        assert!(differing(&names, &theirs).is_empty());
        theirs.insert("ENGINE_SURELY_UNSET_VARIABLE".into(), "00".into());
        theirs.insert("PATH".into(), "ff".into());
        assert_eq!(
            differing(&names, &theirs),
            ["ENGINE_SURELY_UNSET_VARIABLE", "PATH"]
        );
    }

    #[test]
    fn replaces_every_value_longest_first() {
        let r = Redactor::new(["abc".to_string(), "abcdef".into(), String::new()]);
        assert_eq!(r.text("x abcdef y abc"), "x [redacted] y [redacted]");
        assert_eq!(r.text("nothing"), "nothing");
    }

    #[test]
    fn redacts_inside_json() {
        let r = Redactor::new(["tok".to_string()]);
        let mut v = serde_json::json!({"a": ["tok!", 1], "tok": {"b": "x tok"}});
        r.json(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"a": ["[redacted]!", 1], "[redacted]": {"b": "x [redacted]"}})
        );
    }
}
