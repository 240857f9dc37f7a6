//! Templated `with:` values: any string containing `{{` or `{%` is a minijinja template over
//! `task`, `run`, `stages`, `env` and `secrets`, rendered by the driver right before each
//! attempt ([`render_config`]). A string that is exactly one `{{ expression }}` keeps the type
//! of the expression's value (number, bool, list, mapping); any other template gives a string.

use std::sync::OnceLock;

use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

use crate::field_path::FieldPath;
use crate::scope::Scope;

/// Whether `text` is a template (contains `{{` or `{%`).
pub fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%")
}

/// A templated `with:` value that could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stage \"{stage}\": {field}: {message}")]
pub struct TemplateError {
    /// The stage whose config it is.
    pub stage: String,
    /// The field, as a dotted path from the stage (`with.message`, `with.commands[1]`).
    pub field: String,
    /// What went wrong, naming the missing variable or key when that is the problem.
    pub message: String,
}

/// Renders every templated string of `with` (the config of stage `stage`) in `scope`, with
/// strict undefined: a variable or key that does not exist is an error. A string that is
/// exactly one `{{ expression }}` becomes the expression's value with its JSON type; other
/// templates become strings; everything else is returned as it is.
pub fn render_config(stage: &str, with: &Value, scope: &Scope) -> Result<Value, TemplateError> {
    let context = scope.template_context();
    render_value(with, &FieldPath::keys(&["with"]), &context).map_err(|(field, message)| {
        TemplateError {
            stage: stage.to_string(),
            field: field.to_string(),
            message,
        }
    })
}

fn render_value(
    value: &Value,
    path: &FieldPath,
    context: &Value,
) -> Result<Value, (FieldPath, String)> {
    match value {
        Value::String(text) if is_template(text) => {
            render_text(text, context).map_err(|message| (path.clone(), message))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| render_value(item, &path.index(i), context))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Value::Object(map) => map
            .iter()
            .map(|(key, item)| Ok((key.clone(), render_value(item, &path.key(key), context)?)))
            .collect::<Result<serde_json::Map<_, _>, _>>()
            .map(Value::Object),
        other => Ok(other.clone()),
    }
}

/// The shared template environment: default syntax, strict undefined.
pub(crate) fn environment() -> &'static Environment<'static> {
    static ENVIRONMENT: OnceLock<Environment<'static>> = OnceLock::new();
    ENVIRONMENT.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env
    })
}

/// The expression of a template that is exactly `{{ expression }}` (surrounding whitespace
/// allowed), else `None`.
pub(crate) fn single_expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    let nested = ["{{", "}}", "{%", "%}", "{#"]
        .iter()
        .any(|marker| inner.contains(marker));
    (!nested && !inner.trim().is_empty()).then(|| inner.trim())
}

fn render_text(text: &str, context: &Value) -> Result<Value, String> {
    let env = environment();
    if let Some(source) = single_expression(text)
        && let Ok(expression) = env.compile_expression(source)
    {
        let value = expression
            .eval(context)
            .map_err(|e| describe(&e, &expression.undeclared_variables(true), context))?;
        if value.is_undefined() {
            let paths = expression.undeclared_variables(true);
            return Err(
                missing(&paths, context).unwrap_or_else(|| format!("`{source}` is not defined"))
            );
        }
        return serde_json::to_value(&value)
            .map_err(|e| format!("`{source}` gives a value that is not JSON: {e}"));
    }
    let template = env
        .template_from_str(text)
        .map_err(|e| format!("not a valid template: {}", detail(&e)))?;
    template
        .render(context)
        .map(Value::String)
        .map_err(|e| describe(&e, &template.undeclared_variables(true), context))
}

/// An error's own words, without minijinja's location suffix.
pub(crate) fn detail(error: &minijinja::Error) -> String {
    let text = error.detail().map_or_else(
        || error.kind().to_string(),
        |detail| format!("{}: {detail}", error.kind()),
    );
    match error.line() {
        Some(line) if line > 1 => format!("{text} (line {line} of the template)"),
        _ => text,
    }
}

/// A rendering error; an undefined value is named by the variable path that is missing.
fn describe(
    error: &minijinja::Error,
    paths: &std::collections::HashSet<String>,
    context: &Value,
) -> String {
    if error.kind() == minijinja::ErrorKind::UndefinedError
        && let Some(message) = missing(paths, context)
    {
        return message;
    }
    detail(error)
}

/// The first of `paths` (dotted, as minijinja reports them) that `context` lacks, in words.
fn missing(paths: &std::collections::HashSet<String>, context: &Value) -> Option<String> {
    let mut sorted: Vec<&String> = paths.iter().collect();
    sorted.sort();
    sorted.into_iter().find_map(|path| {
        let mut node = context;
        let mut walked = Vec::new();
        for segment in path.split('.') {
            walked.push(segment);
            match node.get(segment) {
                Some(next) => node = next,
                None => {
                    let at = walked.join(".");
                    return Some(if walked.len() == 4 && walked[0] == "stages" {
                        format!(
                            "`{at}` is not defined: stage \"{}\" has no output \"{segment}\"",
                            walked[1]
                        )
                    } else {
                        format!("`{at}` is not defined")
                    });
                }
            }
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn scope() -> Scope {
        let mut scope = Scope::sample(["triage"], &BTreeMap::new(), None);
        scope.stages = json!({"triage": {"result": "succeeded", "outputs": {
            "tier": "smart", "files": 3, "risky": false, "paths": ["a.rs", "b.rs"],
            "detail": {"why": "small"}, "ratio": 0.5}}});
        scope.task = json!({"id": "T-9", "title": "Add a flag", "body": "b", "labels": []});
        scope.with_secrets(BTreeMap::from([(
            "TOKEN".to_string(),
            "s3cr3t".to_string(),
        )]))
    }

    fn render(with: Value) -> Result<Value, TemplateError> {
        render_config("notify", &with, &scope())
    }

    #[test]
    fn single_expressions_keep_their_type() {
        let rendered = render(json!({
            "count": "{{ stages.triage.outputs.files }}",
            "risky": "{{ stages.triage.outputs.risky }}",
            "paths": "{{ stages.triage.outputs.paths }}",
            "detail": "{{stages.triage.outputs.detail}}",
            "ratio": " {{ stages.triage.outputs.ratio }} ",
            "more": "{{ stages.triage.outputs.files + 1 }}",
            "tier": "{{ stages.triage.outputs.tier }}",
        }))
        .unwrap();
        assert_eq!(
            rendered,
            json!({"count": 3, "risky": false, "paths": ["a.rs", "b.rs"],
                   "detail": {"why": "small"}, "ratio": 0.5, "more": 4, "tier": "smart"})
        );
    }

    #[test]
    fn other_templates_give_strings_and_the_rest_is_untouched() {
        let rendered = render(json!({
            "text": "Run {{ run.id }}: {{ task.title | upper }} ({{ stages.triage.outputs.files }})",
            "loop": "{% for p in stages.triage.outputs.paths %}{{ p }};{% endfor %}",
            "nested": [{"x": "{{ task.id }}"}, 7, true, null, "plain {text}"],
            "number": 12,
        }))
        .unwrap();
        assert_eq!(
            rendered,
            json!({
                "text": "Run sample-run: ADD A FLAG (3)",
                "loop": "a.rs;b.rs;",
                "nested": [{"x": "T-9"}, 7, true, null, "plain {text}"],
                "number": 12,
            })
        );
    }

    #[test]
    fn secrets_are_rendered() {
        let rendered = render(json!({"url": "https://hooks.example.com/{{ secrets.TOKEN }}"}));
        assert_eq!(
            rendered,
            Ok(json!({"url": "https://hooks.example.com/s3cr3t"}))
        );
    }

    #[test]
    fn undefined_values_are_errors_naming_the_stage_field_and_path() {
        assert_eq!(
            render(json!({"a": [1, "{{ stages.triage.outputs.risk }}"]}))
                .unwrap_err()
                .to_string(),
            "stage \"notify\": with.a[1]: `stages.triage.outputs.risk` is not defined: stage \
             \"triage\" has no output \"risk\""
        );
        assert_eq!(
            render(json!({"text": "risk: {{ stages.triage.outputs.risk }}"}))
                .unwrap_err()
                .to_string(),
            "stage \"notify\": with.text: `stages.triage.outputs.risk` is not defined: stage \
             \"triage\" has no output \"risk\""
        );
        assert_eq!(
            render(json!({"text": "{{ secrets.OTHER }}"}))
                .unwrap_err()
                .message,
            "`secrets.OTHER` is not defined"
        );
        assert_eq!(
            render(json!({"text": "{{ stages.deploy.outputs.url }}"}))
                .unwrap_err()
                .message,
            "`stages.deploy` is not defined"
        );
    }

    #[test]
    fn optional_values_can_be_tested_or_defaulted() {
        let rendered = render(json!({
            "a": "{% if stages.triage.outputs.risk is defined %}risky{% else %}calm{% endif %}",
            "b": "{{ stages.triage.outputs.risk | default('none') }}",
        }));
        assert_eq!(rendered, Ok(json!({"a": "calm", "b": "none"})));
    }

    #[test]
    fn recognises_single_expressions() {
        assert_eq!(single_expression("{{ a.b }}"), Some("a.b"));
        assert_eq!(single_expression("{{- a -}}"), Some("a"));
        assert_eq!(single_expression("{{ a }} {{ b }}"), None);
        assert_eq!(single_expression("x {{ a }}"), None);
        assert_eq!(single_expression("{{ }}"), None);
        assert!(is_template("{% if x %}y{% endif %}"));
        assert!(!is_template("{ not: a template }"));
    }
}
