//! The prompts: the first one from a minijinja template, continuation prompts, and the handoff
//! prompt that seeds a fresh session after a context overflow.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;
use serde_json::Value;

/// The built-in prompt template.
pub const DEFAULT_TEMPLATE: &str = include_str!("default_prompt.j2");

/// Characters of feedback detail kept in the prompt (the tail: errors are usually at the end).
const FEEDBACK_DETAIL_CHARS: usize = 20_000;

/// Characters of the previous session's last message kept in a handoff prompt.
const HANDOFF_TEXT_CHARS: usize = 4_000;

/// The task, as templates see it (`task.id`, `task.title`, `task.body`, `task.labels`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskView {
    /// Stable id.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// Full markdown text.
    pub body: String,
    /// Labels.
    pub labels: Vec<String>,
}

/// Why a later stage sent the run back (`feedback.*` in templates).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedbackView {
    /// The stage that failed.
    pub from_stage: String,
    /// Its attempt number.
    pub attempt: u32,
    /// Its failure message.
    pub message: String,
    /// Its structured detail.
    pub detail: Value,
    /// The detail as readable text (multi-line strings kept as they are); empty when none.
    pub detail_text: String,
}

impl FeedbackView {
    /// Builds the view, rendering `detail` as text for the prompt.
    pub fn new(from_stage: String, attempt: u32, message: String, detail: Value) -> Self {
        let detail_text = detail_text(&detail);
        FeedbackView {
            from_stage,
            attempt,
            message,
            detail,
            detail_text,
        }
    }
}

/// Everything a prompt template can use.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptContext {
    /// The task.
    pub task: TaskView,
    /// Acceptance criteria from the task body.
    pub checklist: Vec<String>,
    /// Feedback of the failed later stage, when the run was sent back.
    pub feedback: Option<FeedbackView>,
    /// This stage's attempt number.
    pub attempt: u32,
    /// Outputs of earlier stages, by stage id (the host's `@spec` is in `constitution` and
    /// `skill` instead).
    pub outputs: BTreeMap<String, Value>,
    /// How to signal completion in the configured dialect (empty for `none`).
    pub completion_instructions: String,
    /// The run's id.
    pub run_id: String,
    /// This stage's id.
    pub stage_id: String,
    /// The project's constitution (`path`, `text`, `rules`) from the host's `@spec` outputs,
    /// when the workflow has one.
    pub constitution: Option<Value>,
    /// The task's skill (`name`, `description`, `prompt`, `story`, `gates`) from the host's
    /// `@spec` outputs, when the task selects one.
    pub skill: Option<Value>,
}

/// A template that does not parse or render.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid `{field}` template{}: {message}", line.map(|l| format!(" at line {l}")).unwrap_or_default())]
pub struct TemplateError {
    /// The config field holding the template (`prompt`, `system_prompt`).
    pub field: String,
    /// The line of the template, when known.
    pub line: Option<usize>,
    /// What went wrong.
    pub message: String,
}

/// Renders `template` (the config field `field`) with `context`. Undefined variables are
/// errors when printed (typos show up), allowed in `{% if %}`.
pub fn render(
    field: &str,
    template: &str,
    context: &PromptContext,
) -> Result<String, TemplateError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    let error = |e: minijinja::Error| TemplateError {
        field: field.to_string(),
        line: e.line(),
        message: match e.detail() {
            Some(detail) => format!("{}: {detail}", e.kind()),
            None => e.kind().to_string(),
        },
    };
    let compiled = env
        .template_from_named_str(field, template)
        .map_err(error)?;
    let text = compiled.render(context).map_err(error)?;
    Ok(text.trim().to_string())
}

/// The prompt resuming a session that has not signalled completion.
pub fn continuation_prompt(reason: &str, instructions: &str) -> String {
    let mut prompt = format!(
        "You have not finished yet: {reason}.\n\nContinue working on the task. Check the \
         acceptance criteria, run the build and the tests, and fix what is left."
    );
    if !instructions.is_empty() {
        prompt.push_str("\n\n");
        prompt.push_str(instructions);
    }
    prompt
}

/// The prompt of a fresh session replacing one that ran out of context (or could not be
/// resumed): the original prompt plus what happened so far.
pub fn handoff_prompt(
    original: &str,
    why: &str,
    files_changed: &[String],
    last_text: &str,
) -> String {
    let mut prompt = String::from(original);
    prompt.push_str("\n\n## Handoff from an earlier session\n");
    let _ = writeln!(
        prompt,
        "An earlier session already worked on this task and {why}. Its changes are in the \
         worktree: look at them (`git status`, `git diff`) before doing anything else, and \
         continue from where it stopped instead of starting over."
    );
    if files_changed.is_empty() {
        prompt.push_str("\nIt changed no files.\n");
    } else {
        prompt.push_str("\nFiles it changed:\n");
        for file in files_changed {
            let _ = writeln!(prompt, "- {file}");
        }
    }
    let last = last_text.trim();
    if !last.is_empty() {
        prompt.push_str("\nIts last message:\n");
        for line in tail_chars(last, HANDOFF_TEXT_CHARS).lines() {
            prompt.push_str("> ");
            prompt.push_str(line);
            prompt.push('\n');
        }
    }
    prompt
}

/// Readable text of a failure detail: `""` for null or `{}`, strings as they are, an object
/// with a non-empty string `text` as that text alone (the failing stage already wrote it for
/// readers, e.g. `builtin:review`'s list of findings; its other fields stay available to
/// templates as `feedback.detail`), other objects as `key: value` lines with multi-line
/// strings on their own lines.
pub fn detail_text(detail: &Value) -> String {
    let text = match detail {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Object(map)
            if map
                .get("text")
                .and_then(Value::as_str)
                .is_some_and(|t| !t.trim().is_empty()) =>
        {
            map.get("text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        }
        Value::Object(map) => {
            let mut out = String::new();
            for (key, value) in map {
                match value {
                    Value::String(s) if s.contains('\n') => {
                        let _ = write!(out, "{key}:\n{}\n", s.trim_end());
                    }
                    Value::String(s) => {
                        let _ = writeln!(out, "{key}: {s}");
                    }
                    other => {
                        let _ = writeln!(out, "{key}: {other}");
                    }
                }
            }
            out
        }
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    };
    tail_chars(text.trim_end(), FEEDBACK_DETAIL_CHARS).to_string()
}

/// The last `max` characters of `text` (cut at a char boundary).
fn tail_chars(text: &str, max: usize) -> &str {
    let count = text.chars().count();
    if count <= max {
        return text;
    }
    let skip = count - max;
    let start = text.char_indices().nth(skip).map_or(0, |(i, _)| i);
    &text[start..]
}

#[cfg(test)]
#[path = "prompt_tests.rs"]
mod tests;
