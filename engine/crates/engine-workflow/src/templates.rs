//! Templated `with:` values: any string containing `{{` or `{%` is a minijinja template over
//! `task`, `run`, `stages`, `env` and `secrets`, rendered by the driver right before each
//! attempt ([`render_config_within`]). A string that is exactly one `{{ expression }}` keeps
//! the type of the expression's value (number, bool, list, mapping); any other template gives a
//! string. Rendering is limited in instructions, output and time (see [`RenderLimits`]); the
//! values it inserts (a task's title, a stage's output) are data, never templates themselves.

use std::sync::OnceLock;
use std::sync::atomic::Ordering;

use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

use crate::field_path::FieldPath;
use crate::render_limits::{Budget, CappedWriter, MAX_TEMPLATE_NESTING, RenderLimits, Stop};
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
/// templates become strings; everything else is returned as it is. The default
/// [`RenderLimits`] apply, on the caller's thread: the driver uses [`render_config_within`].
pub fn render_config(stage: &str, with: &Value, scope: &Scope) -> Result<Value, TemplateError> {
    let mut budget = Budget::new(&RenderLimits::default());
    render_with_budget(
        stage,
        with,
        scope,
        RenderLimits::default().fuel,
        &mut budget,
    )
}

/// [`render_config`] within `limits`, on a helper thread: the call returns by the time limit
/// even when a template is stuck in one long instruction (the helper stops at its next write,
/// or when its fuel runs out).
pub fn render_config_within(
    stage: &str,
    with: &Value,
    scope: &Scope,
    limits: &RenderLimits,
) -> Result<Value, TemplateError> {
    let error = |message: String| TemplateError {
        stage: stage.to_string(),
        field: "with".to_string(),
        message,
    };
    let mut budget = Budget::new(limits);
    let abandoned = budget.abandoned.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let (stage_id, with, scope, fuel) =
        (stage.to_string(), with.clone(), scope.clone(), limits.fuel);
    let spawned = std::thread::Builder::new()
        .name("engine-render".to_string())
        .spawn(move || {
            let _ = tx.send(render_with_budget(
                &stage_id,
                &with,
                &scope,
                fuel,
                &mut budget,
            ));
        });
    if let Err(e) = spawned {
        return Err(error(format!("cannot start rendering: {e}")));
    }
    if let Ok(result) = rx.recv_timeout(limits.time_limit) {
        result
    } else {
        abandoned.store(true, Ordering::Relaxed);
        let budget = Budget::new(limits);
        Err(error(budget.describe(Stop::Time)))
    }
}

fn render_with_budget(
    stage: &str,
    with: &Value,
    scope: &Scope,
    fuel: u64,
    budget: &mut Budget,
) -> Result<Value, TemplateError> {
    let context = scope.template_context();
    let env = limited_environment(fuel);
    let mut render = Render {
        env: &env,
        context: &context,
        budget,
        fuel,
    };
    render
        .value(with, &FieldPath::keys(&["with"]))
        .map_err(|(field, message)| TemplateError {
            stage: stage.to_string(),
            field: field.to_string(),
            message,
        })
}

/// One stage's render: its environment, context and what it may still spend.
struct Render<'a> {
    env: &'a Environment<'static>,
    context: &'a Value,
    budget: &'a mut Budget,
    fuel: u64,
}

impl Render<'_> {
    fn value(&mut self, value: &Value, path: &FieldPath) -> Result<Value, (FieldPath, String)> {
        self.budget
            .check_time()
            .map_err(|stop| (path.clone(), self.budget.describe(stop)))?;
        match value {
            Value::String(text) if is_template(text) => {
                self.text(text).map_err(|message| (path.clone(), message))
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    out.push(self.value(item, &path.index(i))?);
                }
                Ok(Value::Array(out))
            }
            Value::Object(map) => {
                let mut out = serde_json::Map::new();
                for (key, item) in map {
                    out.insert(key.clone(), self.value(item, &path.key(key))?);
                }
                Ok(Value::Object(out))
            }
            other => Ok(other.clone()),
        }
    }

    fn text(&mut self, text: &str) -> Result<Value, String> {
        let env = self.env;
        let context = self.context;
        if let Some(source) = single_expression(text)
            && let Ok(expression) = env.compile_expression(source)
        {
            let value = expression
                .eval(context)
                .map_err(|e| self.explain(&e, &expression.undeclared_variables(true)))?;
            if value.is_undefined() {
                let paths = expression.undeclared_variables(true);
                return Err(missing(&paths, context)
                    .unwrap_or_else(|| format!("`{source}` is not defined")));
            }
            let json = serde_json::to_value(&value)
                .map_err(|e| format!("`{source}` gives a value that is not JSON: {e}"))?;
            let size = serde_json::to_vec(&json).map_or(0, |bytes| bytes.len());
            self.budget
                .spend(size)
                .map_err(|stop| self.budget.describe(stop))?;
            return Ok(json);
        }
        let template = env
            .template_from_str(text)
            .map_err(|e| format!("not a valid template: {}", detail(&e)))?;
        let mut writer = CappedWriter::new(self.budget);
        let rendered = template.render_captured_to(context, &mut writer);
        let (out, stopped) = (std::mem::take(&mut writer.out), writer.stopped);
        match (rendered, stopped) {
            (_, Some(stop)) => Err(self.budget.describe(stop)),
            (Ok(_), None) => Ok(Value::String(String::from_utf8_lossy(&out).into_owned())),
            (Err(e), None) => Err(self.explain(&e, &template.undeclared_variables(true))),
        }
    }

    /// A rendering error in words: fuel running out named as such, an undefined value by the
    /// path that is missing.
    fn explain(
        &self,
        error: &minijinja::Error,
        paths: &std::collections::HashSet<String>,
    ) -> String {
        if error.kind() == minijinja::ErrorKind::OutOfFuel {
            return format!(
                "the template ran more than {} instructions (the fuel limit of templates; a \
                 runaway loop?)",
                self.fuel
            );
        }
        describe(error, paths, self.context)
    }
}

/// A template environment with default syntax, strict undefined, `fuel` instructions per
/// template, limited nesting and no `namespace()`.
fn limited_environment(fuel: u64) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(fuel));
    env.set_recursion_limit(MAX_TEMPLATE_NESTING);
    env.remove_global("namespace");
    env
}

/// The shared template environment (validate's checks): the one renders use, default fuel.
pub(crate) fn environment() -> &'static Environment<'static> {
    static ENVIRONMENT: OnceLock<Environment<'static>> = OnceLock::new();
    ENVIRONMENT.get_or_init(|| limited_environment(RenderLimits::default().fuel))
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
            if let Some(next) = node.get(segment) {
                node = next;
            } else {
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
        None
    })
}

/// The `with:` fields a builtin stage renders itself, over its own variables (documented with
/// the stage): the notifiers' message templates and the agent's prompts. The engine passes them
/// as the workflow wrote them, so text that came from a task (its title, say) is never rendered
/// as a template by the plugin.
pub fn plugin_rendered_fields(uses: &engine_core::PluginRef) -> &'static [&'static str] {
    match uses {
        engine_core::PluginRef::Builtin { name } => match name.as_str() {
            "webhook" => &["message", "title", "body"],
            "telegram" => &["message"],
            "agent" => &["prompt", "system_prompt"],
            _ => &[],
        },
        engine_core::PluginRef::Path { .. } => &[],
    }
}

/// The plugin-rendered fields whose variables `validate` leaves to the plugin: the agent's
/// prompts (their variables are the stage's: `feedback`, `checklist`...). The notifiers'
/// fields are still checked against the engine's variables (a secret there is an error).
pub(crate) fn plugin_checked_fields(uses: &engine_core::PluginRef) -> &'static [&'static str] {
    match uses {
        engine_core::PluginRef::Builtin { name } if name == "agent" => &["prompt", "system_prompt"],
        _ => &[],
    }
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

    fn render(with: &Value) -> Result<Value, TemplateError> {
        render_config("notify", with, &scope())
    }

    #[test]
    fn single_expressions_keep_their_type() {
        let rendered = render(&json!({
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
        let rendered = render(&json!({
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
        let rendered = render(&json!({"url": "https://hooks.example.com/{{ secrets.TOKEN }}"}));
        assert_eq!(
            rendered,
            Ok(json!({"url": "https://hooks.example.com/s3cr3t"}))
        );
    }

    #[test]
    fn undefined_values_are_errors_naming_the_stage_field_and_path() {
        assert_eq!(
            render(&json!({"a": [1, "{{ stages.triage.outputs.risk }}"]}))
                .unwrap_err()
                .to_string(),
            "stage \"notify\": with.a[1]: `stages.triage.outputs.risk` is not defined: stage \
             \"triage\" has no output \"risk\""
        );
        assert_eq!(
            render(&json!({"text": "risk: {{ stages.triage.outputs.risk }}"}))
                .unwrap_err()
                .to_string(),
            "stage \"notify\": with.text: `stages.triage.outputs.risk` is not defined: stage \
             \"triage\" has no output \"risk\""
        );
        assert_eq!(
            render(&json!({"text": "{{ secrets.OTHER }}"}))
                .unwrap_err()
                .message,
            "`secrets.OTHER` is not defined"
        );
        assert_eq!(
            render(&json!({"text": "{{ stages.deploy.outputs.url }}"}))
                .unwrap_err()
                .message,
            "`stages.deploy` is not defined"
        );
    }

    #[test]
    fn optional_values_can_be_tested_or_defaulted() {
        let rendered = render(&json!({
            "a": "{% if stages.triage.outputs.risk is defined %}risky{% else %}calm{% endif %}",
            "b": "{{ stages.triage.outputs.risk | default('none') }}",
        }));
        assert_eq!(rendered, Ok(json!({"a": "calm", "b": "none"})));
    }

    fn limited(with: &Value, limits: RenderLimits) -> Result<Value, TemplateError> {
        render_config_within("notify", with, &scope(), &limits)
    }

    #[test]
    fn runaway_loops_run_out_of_fuel() {
        let nested = "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}\
                      {% endfor %}";
        let err = limited(&json!({"text": nested}), RenderLimits::default()).unwrap_err();
        assert_eq!(err.field, "with.text");
        assert!(err.message.contains("fuel limit"), "{err}");
    }

    #[test]
    fn output_past_the_limit_is_an_error() {
        let limits = RenderLimits {
            max_output_bytes: 1000,
            ..RenderLimits::default()
        };
        let err = limited(
            &json!({"a": "{{ 'x' * 600 }}", "b": "{% for i in range(60) %}0123456789{% endfor %}"}),
            limits,
        )
        .unwrap_err();
        assert_eq!(err.field, "with.b");
        assert!(err.message.contains("limit of 1000 bytes"), "{err}");
        let err = limited(&json!({"a": "{{ 'x' * 2000 }}"}), limits).unwrap_err();
        assert!(err.message.contains("limit of 1000 bytes"), "{err}");
    }

    #[test]
    fn rendering_past_the_time_limit_is_an_error() {
        let limits = RenderLimits {
            time_limit: std::time::Duration::ZERO,
            ..RenderLimits::default()
        };
        let err = limited(&json!({"a": "{{ task.id }}"}), limits).unwrap_err();
        assert!(err.message.contains("time limit of templates"), "{err}");
    }

    #[test]
    fn namespaces_are_not_available() {
        let grow = "{% set ns = namespace(s='x') %}{% for i in range(40) %}\
                    {% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}";
        assert!(render(&json!({"a": grow})).is_err());
    }

    #[test]
    fn task_text_is_data_never_a_template() {
        let title = "{% for i in range(3) %}x{% endfor %} {{ run.branch }}";
        let mut scope = scope();
        scope.task["title"] = json!(title);
        let rendered = render_config(
            "notify",
            &json!({"m": "{{ task.title }}", "t": "Title: {{ task.title }}"}),
            &scope,
        );
        assert_eq!(
            rendered,
            Ok(json!({"m": title, "t": format!("Title: {title}")}))
        );
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
