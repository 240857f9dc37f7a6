//! The agent CLIs the host can run, each an argv builder plus a stream parser, and the registry
//! that picks one by name.
//!
//! Every backend keeps long text out of argv (prompts go on stdin or into a file in the
//! session's scratch directory; an argument over [`MAX_ARG_BYTES`] is refused), applies the
//! workflow's [`BackendSettings`] (`command` replaces the program and may add leading arguments,
//! `extra_args` are appended), and parses leniently: a line that is not JSON or has an unknown
//! type becomes [`crate::AgentEvent::Unknown`], a field of an unexpected type reads as absent,
//! and only the first terminal result counts. Each module documents its CLI's flags and the
//! mapping of its stream to normalized events.

mod aider;
mod aider_output;
mod claude;
mod claude_stream;
mod claude_wire;
mod codex;
mod codex_stream;
mod codex_wire;
mod command;
mod cursor;
mod custom;
mod custom_stream;
mod gemini;
mod gemini_stream;
mod lenient;
mod opencode;
mod reset_time;
mod text;

use std::collections::BTreeMap;

pub use aider::{AiderBackend, AiderParser};
pub use claude::ClaudeBackend;
pub use claude_stream::ClaudeParser;
pub use codex::CodexBackend;
pub use codex_stream::CodexParser;
pub use command::{MAX_ARG_BYTES, PROMPT_FILE_NAME};
pub use cursor::{CursorBackend, CursorParser};
pub use custom::{CustomBackend, CustomBackendConfig, CustomFormat};
pub use custom_stream::CustomParser;
pub use gemini::GeminiBackend;
pub use gemini_stream::GeminiParser;
pub use opencode::{OpencodeBackend, OpencodeParser};

use crate::backend::{Backend, BackendError, BackendSettings};

/// Names of the built-in backends.
pub const BUILTIN_BACKENDS: &[&str] = &["claude", "codex", "gemini", "opencode", "aider", "cursor"];

/// The backend called `name`: a built-in one, or one of the workflow's `custom` backends.
/// Settings are checked here (an empty `command`; a custom backend's template and regexes), so a
/// bad workflow fails before any agent starts. A custom backend may not reuse a built-in name.
pub fn backend(
    name: &str,
    settings: &BackendSettings,
    custom: &BTreeMap<String, CustomBackendConfig>,
) -> Result<Box<dyn Backend>, BackendError> {
    if let Some(config) = custom.get(name) {
        if BUILTIN_BACKENDS.contains(&name) {
            return Err(BackendError::InvalidSettings {
                backend: name.to_owned(),
                message: "a custom backend cannot reuse a built-in name; use `command` to replace the program".to_owned(),
            });
        }
        return Ok(Box::new(CustomBackend::new(
            name,
            config.clone(),
            settings.clone(),
        )?));
    }
    command::validate_settings(name, settings)?;
    let s = settings.clone();
    Ok(match name {
        "claude" => Box::new(ClaudeBackend::new(s)),
        "codex" => Box::new(CodexBackend::new(s)),
        "gemini" => Box::new(GeminiBackend::new(s)),
        "opencode" => Box::new(OpencodeBackend::new(s)),
        "aider" => Box::new(AiderBackend::new(s)),
        "cursor" => Box::new(CursorBackend::new(s)),
        _ => {
            let known: Vec<&str> = BUILTIN_BACKENDS
                .iter()
                .copied()
                .chain(custom.keys().map(String::as_str))
                .collect();
            return Err(BackendError::Unknown {
                name: name.to_owned(),
                known: known.join(", "),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::backend::InvocationContext;
    use crate::request::SessionRequest;

    /// Linux's limit on one argv string (`MAX_ARG_STRLEN`).
    const LINUX_MAX_ARG_STRLEN: usize = 128 * 1024;

    #[test]
    fn a_one_mib_prompt_never_goes_through_argv() {
        let prompt = "0123456789abcdef".repeat(1 << 16);
        assert_eq!(prompt.len(), 1 << 20);
        let req = SessionRequest {
            prompt: prompt.clone(),
            system_prompt: Some("Keep changes small.".into()),
            model: Some("m".into()),
            max_turns: Some(3),
            ..Default::default()
        };
        let command = |args: &[&str]| CustomBackendConfig {
            command: args.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        };
        let custom = BTreeMap::from([
            (
                "file-agent".to_owned(),
                command(&["fa", "--prompt-file={prompt_file}", "--model={model}"]),
            ),
            ("stdin-agent".to_owned(), command(&["sa", "{max_turns}"])),
        ]);
        let tiers = BTreeMap::new();
        let names = BUILTIN_BACKENDS
            .iter()
            .copied()
            .chain(custom.keys().map(String::as_str));
        for name in names {
            let b = backend(name, &BackendSettings::default(), &custom).unwrap();
            let cx = InvocationContext {
                request: &req,
                scratch_dir: Path::new("/scratch"),
                tiers: &tiers,
            };
            let inv = b.invocation(cx).unwrap();
            for arg in std::iter::once(&inv.program).chain(&inv.args) {
                assert!(
                    arg.len() <= LINUX_MAX_ARG_STRLEN,
                    "{name}: an argument of {} bytes",
                    arg.len()
                );
            }
            let on_stdin = inv
                .stdin
                .as_deref()
                .is_some_and(|s| String::from_utf8_lossy(s).contains(&prompt));
            let in_file = inv
                .files
                .iter()
                .any(|(_, content)| content.contains(&prompt));
            assert!(
                on_stdin ^ in_file,
                "{name}: the prompt must arrive once, on stdin or in a file"
            );
        }
    }

    #[test]
    fn builtins_resolve_by_name() {
        for name in BUILTIN_BACKENDS {
            let b = backend(name, &BackendSettings::default(), &BTreeMap::new()).unwrap();
            assert_eq!(b.name(), *name);
        }
    }

    #[test]
    fn unknown_names_list_what_is_known() {
        let custom = BTreeMap::from([(
            "mine".to_owned(),
            CustomBackendConfig {
                command: vec!["m".into()],
                ..Default::default()
            },
        )]);
        let err = backend("nope", &BackendSettings::default(), &custom)
            .err()
            .unwrap();
        assert_eq!(
            err,
            BackendError::Unknown {
                name: "nope".into(),
                known: "claude, codex, gemini, opencode, aider, cursor, mine".into()
            }
        );
        assert_eq!(
            backend("mine", &BackendSettings::default(), &custom)
                .unwrap()
                .name(),
            "mine"
        );
    }

    #[test]
    fn custom_backends_cannot_shadow_builtins_and_empty_commands_are_invalid() {
        let custom = BTreeMap::from([(
            "claude".to_owned(),
            CustomBackendConfig {
                command: vec!["x".into()],
                ..Default::default()
            },
        )]);
        assert!(matches!(
            backend("claude", &BackendSettings::default(), &custom),
            Err(BackendError::InvalidSettings { .. })
        ));
        let settings = BackendSettings {
            command: Some(vec![]),
            extra_args: vec![],
        };
        assert!(matches!(
            backend("codex", &settings, &BTreeMap::new()),
            Err(BackendError::InvalidSettings { .. })
        ));
    }
}
