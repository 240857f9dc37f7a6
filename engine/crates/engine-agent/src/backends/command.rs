//! Assembling an [`Invocation`]: the program (or the workflow's `command` override), the
//! backend's arguments, the workflow's `extra_args`, and the guarantee that no argument is long
//! enough to fail with E2BIG.

use std::path::{Path, PathBuf};

use crate::backend::{BackendError, BackendSettings, Invocation};
use crate::request::SessionRequest;

/// Longest single argument a backend may produce (bytes). Linux refuses any one argv string over
/// 128 KiB (`MAX_ARG_STRLEN`) with E2BIG; this leaves room for the rest of the page.
pub const MAX_ARG_BYTES: usize = 100 * 1024;

/// Name of the prompt file written in the session's scratch directory by backends that read the
/// prompt from a file.
pub const PROMPT_FILE_NAME: &str = "prompt.md";

/// Checks the workflow's settings for a backend: a `command` override must name a program.
pub(crate) fn validate_settings(
    backend: &str,
    settings: &BackendSettings,
) -> Result<(), BackendError> {
    if let Some(command) = &settings.command
        && command.first().is_none_or(|p| p.trim().is_empty())
    {
        return Err(BackendError::InvalidSettings {
            backend: backend.to_owned(),
            message: "`command` must start with the program to run".to_owned(),
        });
    }
    Ok(())
}

/// An invocation being built.
#[derive(Debug, Default)]
pub(crate) struct InvocationBuilder {
    /// The backend's own arguments.
    pub args: Vec<String>,
    /// Arguments that must come after `extra_args` (positionals, subcommands).
    pub trailing: Vec<String>,
    /// Environment additions.
    pub env: Vec<(String, String)>,
    /// Bytes for stdin.
    pub stdin: Option<Vec<u8>>,
    /// Files to write first.
    pub files: Vec<(PathBuf, String)>,
}

impl InvocationBuilder {
    /// Appends arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Appends `flag value` when the value is present.
    pub fn opt(&mut self, flag: &str, value: Option<impl ToString>) -> &mut Self {
        if let Some(v) = value {
            self.args.push(flag.to_owned());
            self.args.push(v.to_string());
        }
        self
    }

    /// Puts the prompt on stdin.
    pub fn stdin_prompt(&mut self, prompt: String) -> &mut Self {
        self.stdin = Some(prompt.into_bytes());
        self
    }

    /// Writes the prompt to `scratch_dir/prompt.md` and returns that path as an argument.
    pub fn prompt_file(
        &mut self,
        backend: &str,
        scratch_dir: &Path,
        prompt: String,
    ) -> Result<String, BackendError> {
        let path = scratch_dir.join(PROMPT_FILE_NAME);
        let arg = path
            .to_str()
            .ok_or_else(|| BackendError::Unsupported {
                backend: backend.to_owned(),
                message: format!(
                    "scratch directory {} is not valid UTF-8",
                    scratch_dir.display()
                ),
            })?
            .to_owned();
        self.files.push((path, prompt));
        Ok(arg)
    }

    /// The final invocation: `settings.command` (or `default_program`), the backend's arguments,
    /// `settings.extra_args`, then the trailing arguments. Fails when any argument is longer than
    /// [`MAX_ARG_BYTES`].
    pub fn build(
        self,
        backend: &str,
        default_program: &str,
        settings: &BackendSettings,
    ) -> Result<Invocation, BackendError> {
        validate_settings(backend, settings)?;
        let (program, mut args) = match settings.command.as_deref() {
            Some([program, lead @ ..]) => (program.clone(), lead.to_vec()),
            _ => (default_program.to_owned(), Vec::new()),
        };
        args.extend(self.args);
        args.extend(settings.extra_args.iter().cloned());
        args.extend(self.trailing);
        if let Some(long) = std::iter::once(&program)
            .chain(&args)
            .find(|a| a.len() > MAX_ARG_BYTES)
        {
            return Err(BackendError::Unsupported {
                backend: backend.to_owned(),
                message: format!(
                    "an argument of {} bytes is over the {MAX_ARG_BYTES}-byte limit (E2BIG); \
                     pass long text through the prompt",
                    long.len()
                ),
            });
        }
        Ok(Invocation {
            program,
            args,
            env: self.env,
            stdin: self.stdin,
            files: self.files,
        })
    }
}

/// The prompt with the system-prompt addition in front, for CLIs without a flag for it.
pub(crate) fn prompt_with_system(request: &SessionRequest) -> String {
    match request
        .system_prompt
        .as_deref()
        .filter(|s| !s.trim().is_empty())
    {
        Some(system) => format!("{system}\n\n{}", request.prompt),
        None => request.prompt.clone(),
    }
}

/// Fails when the request restricts tools, for CLIs that cannot enforce such lists (fail closed:
/// a denied tool must never run because the CLI ignored the list).
pub(crate) fn reject_tool_lists(
    backend: &str,
    request: &SessionRequest,
) -> Result<(), BackendError> {
    if request.allowed_tools.is_empty() && request.denied_tools.is_empty() {
        return Ok(());
    }
    Err(BackendError::Unsupported {
        backend: backend.to_owned(),
        message: "this CLI cannot restrict tools; remove allowed/denied tools or use claude"
            .to_owned(),
    })
}

/// Fails when the request resumes a session, for CLIs without sessions.
pub(crate) fn reject_resume(backend: &str, request: &SessionRequest) -> Result<(), BackendError> {
    match &request.resume_session {
        None => Ok(()),
        Some(_) => Err(BackendError::Unsupported {
            backend: backend.to_owned(),
            message: "this CLI has no sessions to resume".to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_override_and_extra_args_frame_the_backend_args() {
        let settings = BackendSettings {
            command: Some(vec!["/opt/x".into(), "--lead".into()]),
            extra_args: vec!["--extra".into()],
        };
        let mut b = InvocationBuilder::default();
        b.args(["a"]).opt("--m", Some("M")).opt("--n", None::<u32>);
        b.trailing.push("-".into());
        let inv = b.build("x", "x", &settings).unwrap();
        assert_eq!(inv.program, "/opt/x");
        assert_eq!(inv.args, ["--lead", "a", "--m", "M", "--extra", "-"]);
    }

    #[test]
    fn empty_command_override_is_invalid() {
        let settings = BackendSettings {
            command: Some(vec![]),
            extra_args: vec![],
        };
        let err = InvocationBuilder::default()
            .build("x", "x", &settings)
            .unwrap_err();
        assert!(matches!(err, BackendError::InvalidSettings { .. }));
    }

    #[test]
    fn an_argument_over_the_limit_is_refused() {
        let mut b = InvocationBuilder::default();
        b.args(["y".repeat(MAX_ARG_BYTES + 1)]);
        let err = b.build("x", "x", &BackendSettings::default()).unwrap_err();
        assert!(err.to_string().contains("E2BIG"), "{err}");
    }

    #[test]
    fn system_prompt_goes_first() {
        let req = SessionRequest {
            prompt: "do it".into(),
            system_prompt: Some("be brief".into()),
            ..Default::default()
        };
        assert_eq!(prompt_with_system(&req), "be brief\n\ndo it");
    }
}
