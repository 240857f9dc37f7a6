//! The scripted agent's own leading options (`--script`, `--as`, `--state`); everything after
//! them is the impersonated CLI's command line.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::error::ScriptedAgentError;

/// Which CLI is impersonated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Claude Code (`claude -p ... --output-format stream-json --verbose`).
    Claude,
    /// `OpenAI` Codex (`codex exec --json ...`).
    Codex,
}

impl Dialect {
    /// The CLI's name.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Claude => "claude",
            Dialect::Codex => "codex",
        }
    }
}

/// The parsed command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The script to play.
    pub script: PathBuf,
    /// The CLI impersonated.
    pub dialect: Dialect,
    /// Where the invocation counter and log live (None: `.scripted-agent/` next to the script).
    pub state: Option<PathBuf>,
    /// The impersonated CLI's arguments (lossy UTF-8).
    pub cli_args: Vec<String>,
}

/// Usage text shown on usage errors.
pub const USAGE: &str =
    "usage: scripted-agent --script FILE [--as claude|codex] [--state DIR] [CLI ARGS...]";

/// Parses our own options, which come first; the first argument that is not one of them (or
/// the one after `--`) starts the CLI's arguments.
pub fn parse_options(args: &[OsString]) -> Result<Options, ScriptedAgentError> {
    let args: Vec<String> = args
        .iter()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let mut script = None;
    let mut dialect = Dialect::Claude;
    let mut state = None;
    let mut index = 0;
    while let Some(arg) = args.get(index) {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value.to_string())),
            _ => (arg.as_str(), None),
        };
        if !matches!(name, "--script" | "--as" | "--state") {
            if name == "--" {
                index += 1;
            }
            break;
        }
        let value = if let Some(value) = inline {
            value
        } else {
            index += 1;
            args.get(index)
                .cloned()
                .ok_or_else(|| usage(&format!("{name} needs a value")))?
        };
        match name {
            "--script" => script = Some(PathBuf::from(value)),
            "--state" => state = Some(PathBuf::from(value)),
            _ => {
                dialect = match value.as_str() {
                    "claude" => Dialect::Claude,
                    "codex" => Dialect::Codex,
                    other => {
                        return Err(usage(&format!("--as {other:?}: expected claude or codex")));
                    }
                }
            }
        }
        index += 1;
    }
    let script = script.ok_or_else(|| usage("--script FILE is required"))?;
    Ok(Options {
        script,
        dialect,
        state,
        cli_args: args.get(index..).unwrap_or_default().to_vec(),
    })
}

fn usage(problem: &str) -> ScriptedAgentError {
    ScriptedAgentError::Usage(format!("{problem}\n{USAGE}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, ScriptedAgentError> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        parse_options(&args)
    }

    #[test]
    fn own_options_come_first_and_the_rest_is_the_cli_command_line() {
        let options = parse(&[
            "--script",
            "s.yaml",
            "--as=codex",
            "--state",
            "st",
            "exec",
            "--json",
        ])
        .unwrap();
        assert_eq!(options.script, PathBuf::from("s.yaml"));
        assert_eq!(options.dialect, Dialect::Codex);
        assert_eq!(options.state, Some(PathBuf::from("st")));
        assert_eq!(options.cli_args, vec!["exec", "--json"]);
    }

    #[test]
    fn claude_is_the_default_and_double_dash_ends_our_options() {
        let options = parse(&["--script=s.yaml", "--", "--script", "-p"]).unwrap();
        assert_eq!(options.dialect, Dialect::Claude);
        assert_eq!(options.state, None);
        assert_eq!(options.cli_args, vec!["--script", "-p"]);
    }

    #[test]
    fn usage_errors() {
        assert!(matches!(parse(&["-p"]), Err(ScriptedAgentError::Usage(_))));
        assert!(matches!(
            parse(&["--script"]),
            Err(ScriptedAgentError::Usage(_))
        ));
        let err = parse(&["--script", "s", "--as", "gemini"]).unwrap_err();
        assert!(err.to_string().contains("gemini"), "{err}");
        assert_eq!(err.exit_code(), 2);
    }
}
