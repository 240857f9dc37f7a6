//! Rendering a notifier's templates (minijinja) over the message context.

use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

/// Instructions a template may run: plenty for a message, a stop for runaway loops.
const FUEL: u64 = 200_000;

/// Renders `template` with the variables of `context` (an object). Missing variables and
/// attributes render as nothing (`{{ run.cost_usd }}` when the engine did not send a cost),
/// so a template works in a `finally:` notifier and in an ordinary stage alike. Text without
/// template syntax is returned as it is.
pub fn render(template: &str, context: &Value) -> Result<String, String> {
    if !["{{", "{%", "{#"].iter().any(|m| template.contains(m)) {
        return Ok(template.to_string());
    }
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_fuel(Some(FUEL));
    env.render_str(template, context)
        .map_err(|e| format!("cannot render the template: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_see_task_run_and_stages() {
        let ctx = json!({
            "task": {"title": "Fix it"},
            "run": {"status": "failed", "failed_stage": "test"},
            "stages": {"triage": {"outputs": {"tier": "smart"}}},
        });
        let text = render(
            "{{ task.title }}: {{ run.status }}{% if run.failed_stage %} at {{ run.failed_stage }}{% endif %} ({{ stages.triage.outputs.tier }})",
            &ctx,
        )
        .unwrap();
        assert_eq!(text, "Fix it: failed at test (smart)");
    }

    #[test]
    fn missing_values_render_as_nothing() {
        let ctx = json!({"task": {"title": "T"}, "run": {}});
        assert_eq!(
            render("[{{ run.cost_usd }}|{{ stages.x.outputs.y }}]", &ctx).unwrap(),
            "[|]"
        );
    }

    #[test]
    fn plain_text_is_kept_and_bad_templates_are_errors() {
        let ctx = json!({});
        assert_eq!(render("just text } {", &ctx).unwrap(), "just text } {");
        assert!(render("{{ oops", &ctx).is_err());
    }

    #[test]
    fn runaway_loops_run_out_of_fuel() {
        let ctx = json!({});
        let err = render(
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
            &ctx,
        )
        .unwrap_err();
        assert!(err.contains("cannot render"), "{err}");
    }
}
