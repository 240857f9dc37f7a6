//! Personas: the built-in ones (their prompts are text files in `src/personas/`) and custom
//! ones from the workflow (a prompt, or a prompt file read from the worktree), resolved into
//! what each review session needs.

use std::collections::BTreeSet;

use crate::config::{CustomPersona, PersonaSpec, ReviewConfig};

/// Longest prompt file accepted, in bytes.
pub const MAX_PROMPT_FILE_BYTES: usize = 64 * 1024;

/// The built-in personas: (name, prompt).
pub const BUILT_IN: &[(&str, &str)] = &[
    ("quality", include_str!("personas/quality.md")),
    ("security", include_str!("personas/security.md")),
    ("tests", include_str!("personas/tests.md")),
    ("simplicity", include_str!("personas/simplicity.md")),
    ("docs", include_str!("personas/docs.md")),
];

/// Where a persona's prompt came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptSource {
    /// A built-in persona.
    BuiltIn,
    /// `prompt:` in the workflow.
    Inline,
    /// `prompt_file:` (the path as written).
    File(String),
}

/// A persona ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Persona {
    /// Its name.
    pub name: String,
    /// What it looks for (the prompt text).
    pub focus: String,
    /// Its backend.
    pub backend: String,
    /// Its model or tier.
    pub model: String,
    /// Where the prompt came from.
    pub source: PromptSource,
}

/// A persona entry that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("persona `{persona}`: {message}")]
pub struct PersonaError {
    /// The persona's name as written.
    pub persona: String,
    /// What is wrong.
    pub message: String,
}

/// Reads prompt files from the worktree (the real one reads below `/workspace`).
pub trait PromptFiles {
    /// The text of `relative` (already checked to stay inside the worktree).
    fn read(&mut self, relative: &str) -> Result<String, String>;
}

/// The built-in persona's prompt, if `name` is one.
pub fn built_in(name: &str) -> Option<&'static str> {
    BUILT_IN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, prompt)| *prompt)
}

/// Resolves every persona of the config, in order. Names must be unique and well-formed; a
/// mapping needs `prompt` or `prompt_file` (not both) unless it names a built-in persona.
pub fn resolve(
    config: &ReviewConfig,
    files: &mut dyn PromptFiles,
) -> Result<Vec<Persona>, PersonaError> {
    let mut seen = BTreeSet::new();
    let mut personas = Vec::with_capacity(config.personas.len());
    for spec in &config.personas {
        let name = spec.name().trim().to_string();
        let error = |message: String| PersonaError {
            persona: name.clone(),
            message,
        };
        check_name(&name).map_err(error)?;
        if !seen.insert(name.clone()) {
            return Err(error("listed twice (persona names must be unique)".into()));
        }
        let persona = match spec {
            PersonaSpec::Named(_) => Persona {
                focus: built_in(&name).map(str::to_string).ok_or_else(|| {
                    error(format!(
                        "not a built-in persona (built-in: {}); a custom persona is a mapping \
                         with `name` and `prompt` or `prompt_file`",
                        built_in_names()
                    ))
                })?,
                backend: config.backend.clone(),
                model: config.model.clone(),
                source: PromptSource::BuiltIn,
                name,
            },
            PersonaSpec::Custom(custom) => {
                let (focus, source) = custom_prompt(&name, custom, files).map_err(error)?;
                Persona {
                    focus,
                    backend: non_empty(custom.backend.as_deref())
                        .unwrap_or_else(|| config.backend.clone()),
                    model: non_empty(custom.model.as_deref())
                        .unwrap_or_else(|| config.model.clone()),
                    source,
                    name,
                }
            }
        };
        personas.push(persona);
    }
    Ok(personas)
}

fn non_empty(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

fn custom_prompt(
    name: &str,
    custom: &CustomPersona,
    files: &mut dyn PromptFiles,
) -> Result<(String, PromptSource), String> {
    match (&custom.prompt, &custom.prompt_file) {
        (Some(_), Some(_)) => Err("give `prompt` or `prompt_file`, not both".into()),
        (Some(prompt), None) if prompt.trim().is_empty() => Err("`prompt` is empty".into()),
        (Some(prompt), None) => Ok((prompt.trim().to_string(), PromptSource::Inline)),
        (None, Some(path)) => {
            let relative = confine(path)?;
            let text = files
                .read(&relative)
                .map_err(|e| format!("cannot read prompt_file `{path}`: {e}"))?;
            if text.len() > MAX_PROMPT_FILE_BYTES {
                return Err(format!(
                    "prompt_file `{path}` is {} bytes; the limit is {MAX_PROMPT_FILE_BYTES}",
                    text.len()
                ));
            }
            if text.trim().is_empty() {
                return Err(format!("prompt_file `{path}` is empty"));
            }
            Ok((text.trim().to_string(), PromptSource::File(path.clone())))
        }
        (None, None) => built_in(name)
            .map(|prompt| (prompt.to_string(), PromptSource::BuiltIn))
            .ok_or_else(|| {
                format!(
                    "a custom persona needs `prompt` or `prompt_file` (built-in personas: {})",
                    built_in_names()
                )
            }),
    }
}

/// The prompt file's path relative to the worktree's root: relative paths as they are,
/// `/workspace/...` without the prefix; never outside the worktree (`..`, other absolute
/// paths, and empty paths are refused). The sandbox confines reads to `/workspace` as well.
pub fn confine(path: &str) -> Result<String, String> {
    let trimmed = path.trim();
    let relative = match trimmed.strip_prefix('/') {
        Some(rest) => rest.strip_prefix("workspace/").ok_or_else(|| {
            format!("prompt_file `{path}` must be relative to the repository root")
        })?,
        None => trimmed,
    };
    let mut parts = Vec::new();
    for part in relative.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                return Err(format!(
                    "prompt_file `{path}` must stay inside the repository (no `..`)"
                ));
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return Err(format!("prompt_file `{path}` names no file"));
    }
    Ok(parts.join("/"))
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err("a persona name is 1 to 40 letters, digits, `-` or `_`, starting with a letter or digit".into())
    }
}

fn built_in_names() -> String {
    BUILT_IN
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[path = "tests/personas_tests.rs"]
mod tests;
