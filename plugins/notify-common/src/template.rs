//! Rendering a notifier's templates (minijinja) over the message context. The template is the
//! workflow's own text (the engine passes `message`, `title` and `body` as written); the values
//! it reads (a task's title, a stage's output) are data and are never rendered themselves.

use std::io;

use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

/// Instructions a template may run: plenty for a message, a stop for runaway loops.
const FUEL: u64 = 200_000;

/// Bytes a rendered template may hold (1 MiB): far more than any chat message.
pub const MAX_RENDERED_BYTES: usize = 1024 * 1024;

/// Renders `template` with the variables of `context` (an object). Missing variables and
/// attributes render as nothing (`{{ run.cost_usd }}` when the engine did not send a cost),
/// so a template works in a `finally:` notifier and in an ordinary stage alike. Text without
/// template syntax is returned as it is. A template runs at most 200,000 instructions and
/// renders at most [`MAX_RENDERED_BYTES`].
pub fn render(template: &str, context: &Value) -> Result<String, String> {
    if !["{{", "{%", "{#"].iter().any(|m| template.contains(m)) {
        return Ok(template.to_string());
    }
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(64);
    // State that survives loop iterations lets a loop double a string again and again.
    env.remove_global("namespace");
    let compiled = env
        .template_from_str(template)
        .map_err(|e| format!("cannot render the template: {e}"))?;
    let mut out = Capped(Vec::new());
    match compiled.render_captured_to(context, &mut out) {
        Ok(_) => Ok(String::from_utf8_lossy(&out.0).into_owned()),
        Err(_) if out.0.len() >= MAX_RENDERED_BYTES => Err(format!(
            "cannot render the template: the text is longer than {MAX_RENDERED_BYTES} bytes"
        )),
        Err(e) if e.kind() == minijinja::ErrorKind::OutOfFuel => Err(format!(
            "cannot render the template: it ran more than {FUEL} instructions (a runaway loop?)"
        )),
        Err(e) => Err(format!("cannot render the template: {e}")),
    }
}

/// Output that refuses to grow past [`MAX_RENDERED_BYTES`] (it keeps exactly that many).
struct Capped(Vec<u8>);

impl io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = MAX_RENDERED_BYTES - self.0.len();
        if buf.len() > room {
            self.0.extend_from_slice(&buf[..room]);
            return Err(io::Error::other("the rendered text is too long"));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
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
        assert!(err.contains("instructions"), "{err}");
    }

    #[test]
    fn output_past_the_cap_is_an_error() {
        let err = render(
            "{% for i in range(20) %}{{ 'x' * 100000 }}{% endfor %}",
            &json!({}),
        )
        .unwrap_err();
        assert!(err.contains("longer than"), "{err}");
    }

    #[test]
    fn values_are_data_never_templates() {
        let title = "{% for i in range(3) %}x{% endfor %} {{ run.branch }}";
        let ctx = json!({"task": {"title": title}, "run": {"branch": "engine/x"}});
        assert_eq!(render("{{ task.title }}", &ctx).unwrap(), title);
        assert!(render("{% set ns = namespace(a=1) %}{{ ns.a }}", &ctx).is_err());
    }
}
