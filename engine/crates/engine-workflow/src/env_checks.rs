//! The deny list of environment variables ([`engine_core::env_policy`]) applied to the
//! workflow's `env:` and `agents.env`.

use serde_json::{Map, Value};

use crate::diagnostic::Problem;
use crate::field_path::FieldPath;

/// Refuses variables on the deny list ([`engine_core::env_policy`]) in `env:` and
/// `agents.env`: they would redirect git or inject code into every program.
pub(crate) fn check_env_names(root: &Map<String, Value>, problems: &mut Vec<Problem>) {
    let sections = [
        (FieldPath::keys(&["env"]), root.get("env")),
        (
            FieldPath::keys(&["agents", "env"]),
            root.get("agents").and_then(|a| a.get("env")),
        ),
    ];
    for (path, section) in sections {
        let Some(vars) = section.and_then(Value::as_object) else {
            continue;
        };
        for name in vars.keys() {
            if let Some(why) =
                engine_core::env_policy::denied(name, engine_core::env_policy::EnvSource::Workflow)
            {
                problems.push(Problem::at_key(
                    path.key(name),
                    path.key(name),
                    format!("{name} cannot be set here: {why}"),
                ));
            }
        }
    }
}
