//! Validate-time checks of templated `with:` values: syntax, unknown variables, stages a stage
//! may not read yet (`stages.X` must be a stage it needs, directly or transitively; any stage
//! for `finally:` stages) and secrets it does not list.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::field_path::FieldPath;
use crate::scope::{RUN_FIELDS, STAGE_FIELDS, TASK_FIELDS, TEMPLATE_ROOTS};
use crate::suggest::{closest, unknown_among, unknown_stage};
use crate::templates::{detail, environment, is_template, single_expression};

/// What the templates of one stage may refer to.
pub(crate) struct TemplateSite<'a> {
    /// The stage's id.
    pub(crate) stage_id: &'a str,
    /// Ids of the workflow's stages (the `stages:` section).
    pub(crate) stage_ids: &'a [&'a str],
    /// Stages whose results are known when this one starts: the ones it needs, directly or
    /// transitively. `None` for a `finally:` stage (every stage has ended).
    pub(crate) readable: Option<&'a [&'a str]>,
    /// The secrets the stage lists.
    pub(crate) secrets: &'a [String],
    /// The workflow's `env:`.
    pub(crate) env: &'a BTreeMap<String, String>,
}

/// Every templated string in `value`, with its path relative to `value`.
pub(crate) fn templated_strings(value: &Value) -> Vec<(FieldPath, &str)> {
    fn walk<'v>(value: &'v Value, path: FieldPath, out: &mut Vec<(FieldPath, &'v str)>) {
        match value {
            Value::String(text) if is_template(text) => out.push((path, text)),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, path.index(i), out);
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    walk(item, path.key(key), out);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(value, FieldPath::root(), &mut found);
    found
}

/// Whether the templated string renders to a value of any JSON type (exactly one
/// `{{ expression }}`) rather than always to a string.
pub(crate) fn keeps_type(text: &str) -> bool {
    single_expression(text).is_some()
}

/// The syntax problem of the template `text`, if any (for templates a plugin renders over its
/// own variables).
pub(crate) fn check_syntax(text: &str) -> Option<String> {
    environment()
        .template_from_str(text)
        .err()
        .map(|error| format!("not a valid template: {}", detail(&error)))
}

/// Every problem with the template `text`, as messages.
pub(crate) fn check_template(text: &str, site: &TemplateSite<'_>) -> Vec<String> {
    let env = environment();
    let template = match env.template_from_str(text) {
        Ok(template) => template,
        Err(error) => return vec![format!("not a valid template: {}", detail(&error))],
    };
    let mut paths: Vec<String> = template.undeclared_variables(true).into_iter().collect();
    paths.sort();
    let globals: Vec<&str> = env.globals().map(|(name, _)| name).collect();
    let mut found = Vec::new();
    for path in paths {
        let segments: Vec<&str> = path.split('.').collect();
        let root = segments[0];
        if globals.contains(&root) {
            continue;
        }
        if !TEMPLATE_ROOTS.contains(&root) {
            found.push(unknown_among(
                &format!("unknown variable \"{root}\" in the template"),
                root,
                &TEMPLATE_ROOTS,
                "variables",
            ));
            continue;
        }
        if let Some(message) = check_path(&segments, site) {
            found.push(message);
        }
    }
    found.dedup();
    found
}

fn check_path(segments: &[&str], site: &TemplateSite<'_>) -> Option<String> {
    let root = segments[0];
    let first = *segments.get(1)?;
    let env_names: Vec<&str> = site.env.keys().map(String::as_str).collect();
    match root {
        "task" | "run" => {
            let known: &[&str] = if root == "task" {
                &TASK_FIELDS
            } else {
                &RUN_FIELDS
            };
            (!known.contains(&first)).then(|| {
                unknown_among(
                    &format!("`{root}` has no field \"{first}\""),
                    first,
                    known,
                    "fields",
                )
            })
        }
        "env" => (!env_names.contains(&first)).then(|| {
            unknown_among(
                &format!("the workflow's env: has no variable \"{first}\""),
                first,
                &env_names,
                "env",
            )
        }),
        "secrets" => (!site.secrets.iter().any(|s| s == first)).then(|| {
            let listed = if site.secrets.is_empty() {
                "it lists none".to_string()
            } else {
                format!("it lists {}", site.secrets.join(", "))
            };
            let hint = closest(first, site.secrets.iter().map(String::as_str))
                .map(|near| format!("did you mean \"{near}\"? "))
                .unwrap_or_default();
            format!(
                "secret \"{first}\" is not in the secrets of stage \"{}\" ({hint}{listed}); a \
                 stage only sees the secrets it lists under secrets:",
                site.stage_id
            )
        }),
        _ => check_stage_path(segments, first, site),
    }
}

fn check_stage_path(segments: &[&str], stage: &str, site: &TemplateSite<'_>) -> Option<String> {
    if !site.stage_ids.contains(&stage) {
        return Some(unknown_stage(stage, site.stage_ids, ""));
    }
    if let Some(readable) = site.readable
        && !readable.contains(&stage)
    {
        let what = if stage == site.stage_id {
            format!("stage \"{stage}\" cannot read its own results")
        } else {
            format!(
                "stage \"{}\" does not need \"{stage}\" (directly or transitively), so \
                 \"{stage}\" may not have run when it starts; add \"{stage}\" to its needs",
                site.stage_id
            )
        };
        return Some(what);
    }
    let field = *segments.get(2)?;
    (!STAGE_FIELDS.contains(&field)).then(|| {
        unknown_among(
            &format!("`stages.{stage}` has no field \"{field}\""),
            field,
            &STAGE_FIELDS,
            "fields",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(text: &str) -> Vec<String> {
        let env = BTreeMap::from([("CI".to_string(), "1".to_string())]);
        let secrets = vec!["SLACK_WEBHOOK_URL".to_string()];
        let site = TemplateSite {
            stage_id: "review",
            stage_ids: &["triage", "execute", "review", "merge"],
            readable: Some(&["triage", "execute"]),
            secrets: &secrets,
            env: &env,
        };
        check_template(text, &site)
    }

    #[test]
    fn valid_templates() {
        for text in [
            "{{ stages.triage.outputs.tier }}",
            "{{ task.title }} by {{ run.id }} ({{ env.CI }})",
            "{{ secrets.SLACK_WEBHOOK_URL }}",
            "{% for l in task.labels %}{{ l }}{{ loop.index }}{% endfor %}",
            "{% if stages.execute.result == 'succeeded' %}ok{% endif %}",
            "{{ range(3) | list }}",
        ] {
            assert_eq!(check(text), Vec::<String>::new(), "{text}");
        }
    }

    #[test]
    fn syntax_errors() {
        let found = check("{{ task.title ");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("not a valid template: syntax error"),
            "{found:?}"
        );
    }

    #[test]
    fn unknown_roots_stages_and_fields() {
        assert_eq!(
            check("{{ tsak.title }}"),
            vec![
                "unknown variable \"tsak\" in the template (did you mean \"task\"? variables: \
                 task, run, stages, env, secrets)"
            ]
        );
        assert_eq!(
            check("{{ stages.triag.outputs.tier }}"),
            vec!["unknown stage \"triag\"; did you mean \"triage\"?"]
        );
        assert_eq!(
            check("{{ stages.merge.outputs.sha }}"),
            vec![
                "stage \"review\" does not need \"merge\" (directly or transitively), so \"merge\" \
                 may not have run when it starts; add \"merge\" to its needs"
            ]
        );
        assert_eq!(
            check("{{ stages.review.outputs.x }}"),
            vec!["stage \"review\" cannot read its own results"]
        );
        assert_eq!(
            check("{{ stages.triage.output.tier }}"),
            vec![
                "`stages.triage` has no field \"output\" (did you mean \"outputs\"? fields: \
                 outputs, result, summary, attempts)"
            ]
        );
        assert_eq!(
            check("{{ env.HOME }}"),
            vec!["the workflow's env: has no variable \"HOME\" (env: CI)"]
        );
    }

    #[test]
    fn secrets_must_be_listed() {
        assert_eq!(
            check("{{ secrets.SLACK_WEBHOOK_URI }}"),
            vec![
                "secret \"SLACK_WEBHOOK_URI\" is not in the secrets of stage \"review\" (did you mean \
                 \"SLACK_WEBHOOK_URL\"? it lists SLACK_WEBHOOK_URL); a stage only sees the \
                 secrets it lists under secrets:"
            ]
        );
    }

    #[test]
    fn finds_templated_strings() {
        let with = json!({"a": "{{ x }}", "b": ["plain", "{% if y %}z{% endif %}"], "c": 3});
        let found: Vec<(String, &str)> = templated_strings(&with)
            .into_iter()
            .map(|(p, t)| (p.to_string(), t))
            .collect();
        assert_eq!(
            found,
            vec![
                ("a".to_string(), "{{ x }}"),
                ("b[1]".to_string(), "{% if y %}z{% endif %}")
            ]
        );
        assert!(keeps_type("{{ x }}"));
        assert!(!keeps_type("a {{ x }}"));
    }
}
