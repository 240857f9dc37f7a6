//! Rendering the workflow `engine init` writes: `workflows/default.yaml` with the detected
//! values put on the lines that carry them.

use super::detect::{Backend, TestCommand};

/// The template: the shipped default pipeline.
pub const TEMPLATE: &str = include_str!("../../../workflows/default.yaml");

/// Name of the JSON Schema file written next to the workflow (the modeline points at it).
pub const SCHEMA_FILE_NAME: &str = "workflow.schema.json";

/// The template no longer has a line `engine init` rewrites (a bug caught by the unit tests).
#[derive(Debug, thiserror::Error)]
#[error("the default workflow template has no line {0:?} (or has it more than once)")]
pub struct RenderError(String);

/// What goes into the rendered workflow.
#[derive(Debug, Clone)]
pub struct Choices<'a> {
    /// The workflow's path as the user will type it (in the comments' example commands).
    pub workflow_path: &'a str,
    /// The test command(s) and where they came from.
    pub tests: &'a TestCommand,
    /// The agent backend.
    pub backend: Backend,
    /// Whether the backend's CLI was found on `PATH` (`false`: a default or `--backend`).
    pub backend_found: bool,
    /// Whether the backend was chosen with `--backend`.
    pub backend_chosen: bool,
    /// Whether the test command was given with `--test`.
    pub test_chosen: bool,
}

/// Renders the workflow for `choices`.
pub fn render(choices: &Choices<'_>) -> Result<String, RenderError> {
    let mut text = TEMPLATE.to_string();
    let b = &choices.backend;
    replace_line(
        &mut text,
        "# yaml-language-server: $schema=../engine/crates/engine-workflow/schema/workflow.schema.json",
        &format!(
            "# yaml-language-server: $schema=./{SCHEMA_FILE_NAME}\n#\n# Written by `engine init`; edit it freely (`engine validate` checks it)."
        ),
    )?;
    text = text.replace("workflows/default.yaml", choices.workflow_path);
    replace_line(
        &mut text,
        "models: { genius: opus, smart: sonnet, primitive: haiku }",
        &format!(
            "models: {{ genius: {}, smart: {}, primitive: {} }}",
            b.models[0], b.models[1], b.models[2]
        ),
    )?;
    replace_line(
        &mut text,
        "  secrets: [ANTHROPIC_API_KEY]",
        &format!("  secrets: [{}]", b.secrets.join(", ")),
    )?;
    let backend_note = if choices.backend_chosen {
        format!("chosen with --backend (its CLI is `{}`)", b.program)
    } else if choices.backend_found {
        format!("found `{}` on PATH", b.program)
    } else {
        "no agent CLI on PATH, claude assumed (or codex, gemini, opencode, aider, cursor)"
            .to_string()
    };
    replace_line(
        &mut text,
        "      backend: claude",
        &format!(
            "      # engine init: {backend_note}.\n      backend: {}",
            b.name
        ),
    )?;
    replace_line(
        &mut text,
        "      backend: claude   # the reviewers' agent CLI",
        &format!("      backend: {}   # the reviewers' agent CLI", b.name),
    )?;
    let tests = choices.tests;
    let test_note = match (choices.test_chosen, tests.source) {
        (true, _) => "given with --test".to_string(),
        (false, Some(source)) if tests.also_found.is_empty() => format!("from {source}"),
        (false, Some(source)) => format!(
            "from {source} (also found: {}; add their commands here if they matter)",
            tests.also_found.join(", ")
        ),
        (false, None) => "none found; replace this placeholder, which fails on purpose".to_string(),
    };
    let quoted: Vec<String> = tests
        .commands
        .iter()
        .map(|c| serde_json::Value::String(c.clone()).to_string())
        .collect();
    replace_line(
        &mut text,
        "      commands: [\"cargo test\"]",
        &format!(
            "      # engine init: test command {test_note}.\n      commands: [{}]",
            quoted.join(", ")
        ),
    )?;
    replace_line(
        &mut text,
        "    permissions: { workspace: read, exec: [cargo] }",
        &format!(
            "    permissions: {{ workspace: read, exec: [{}] }}",
            tests
                .programs()
                .iter()
                .map(|p| flow_scalar(p))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )?;
    Ok(text)
}

/// `name` as an item of a YAML flow sequence: plain when it reads back as the same string
/// (`cargo`, `npm`), double-quoted otherwise, so a program named `true`, `null`, `1` or
/// `a,b` stays a string.
fn flow_scalar(name: &str) -> String {
    const RESERVED: &[&str] = &["true", "false", "null", "yes", "no", "on", "off", "y", "n"];
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+' | '/'))
        && !RESERVED.contains(&name.to_ascii_lowercase().as_str());
    if plain {
        name.to_string()
    } else {
        serde_json::Value::String(name.to_string()).to_string()
    }
}

/// Replaces the one whole line equal to `line`.
fn replace_line(text: &mut String, line: &str, with: &str) -> Result<(), RenderError> {
    let lines: Vec<&str> = text.lines().collect();
    let hits: Vec<usize> = (0..lines.len()).filter(|&i| lines[i] == line).collect();
    let [hit] = hits[..] else {
        return Err(RenderError(line.to_string()));
    };
    let mut out = String::with_capacity(text.len() + with.len());
    for (i, l) in lines.iter().enumerate() {
        out.push_str(if i == hit { with } else { l });
        out.push('\n');
    }
    *text = out;
    Ok(())
}

#[cfg(test)]
mod tests;
