//! What the impersonated CLI's command line asks for, as the real CLI would understand it.

use std::path::PathBuf;

use crate::args::Dialect;
use crate::cli_args::ParsedArgs;

/// What the command line asks of the session, as the real CLI would understand it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CliRequest {
    /// The parsed command line.
    pub parsed: ParsedArgs,
    /// Claude: `-p` given. Codex: the `exec` subcommand given.
    pub headless: bool,
    /// Output format: `stream-json`, `json` or `text` (Codex: `stream-json` with `--json`).
    pub output_format: String,
    /// The model asked for.
    pub model: Option<String>,
    /// The session to resume.
    pub resume: Option<String>,
    /// Claude's `--max-turns`.
    pub max_turns: Option<u32>,
    /// Claude's `--max-budget-usd`.
    pub max_budget_usd: Option<f64>,
    /// Claude's `--permission-mode` (or `bypassPermissions` for the dangerous switch).
    pub permission_mode: Option<String>,
    /// The prompt given as an argument (`-` for Codex means stdin: None here).
    pub prompt_arg: Option<String>,
    /// Whether stdin is read for the prompt (when it is not a terminal).
    pub prompt_from_stdin: bool,
    /// Codex `-C DIR`: the working directory.
    pub cd: Option<PathBuf>,
    /// Codex `-o FILE`: where the last message is written.
    pub last_message_file: Option<PathBuf>,
}

impl CliRequest {
    /// Interprets a command line for `dialect`.
    pub fn interpret(dialect: Dialect, args: &[String]) -> CliRequest {
        let parsed = ParsedArgs::parse(dialect, args);
        match dialect {
            Dialect::Claude => claude(parsed),
            Dialect::Codex => codex(parsed),
        }
    }
}

fn claude(parsed: ParsedArgs) -> CliRequest {
    let permission_mode = if parsed.has("--dangerously-skip-permissions") {
        Some("bypassPermissions".to_string())
    } else {
        parsed.text("--permission-mode").map(String::from)
    };
    CliRequest {
        headless: parsed.has("--print"),
        output_format: parsed.text("--output-format").unwrap_or("text").to_string(),
        model: parsed.text("--model").map(String::from),
        resume: parsed.text("--resume").map(String::from),
        max_turns: parsed
            .text("--max-turns")
            .and_then(|text| text.trim().parse().ok()),
        max_budget_usd: parsed
            .text("--max-budget-usd")
            .and_then(|text| text.trim().parse().ok()),
        permission_mode,
        prompt_arg: parsed.positionals.first().cloned(),
        prompt_from_stdin: true,
        cd: None,
        last_message_file: None,
        parsed,
    }
}

fn codex(parsed: ParsedArgs) -> CliRequest {
    let mut positionals = parsed.positionals.iter();
    let headless = positionals
        .next()
        .is_some_and(|first| first == "exec" || first == "e");
    let mut rest: Vec<&String> = positionals.collect();
    let mut resume = None;
    if rest.first().is_some_and(|word| *word == "resume") {
        rest.remove(0);
        if !parsed.has("--last") && !rest.is_empty() {
            resume = Some(rest.remove(0).clone());
        }
    }
    let prompt_arg = rest
        .first()
        .map(|prompt| (*prompt).clone())
        .filter(|prompt| prompt != "-");
    CliRequest {
        headless,
        output_format: if parsed.has("--json") {
            "stream-json"
        } else {
            "text"
        }
        .to_string(),
        model: parsed.text("--model").map(String::from),
        resume,
        max_turns: None,
        max_budget_usd: None,
        permission_mode: parsed.text("--sandbox").map(String::from),
        prompt_from_stdin: prompt_arg.is_none(),
        prompt_arg,
        cd: parsed.text("--cd").map(PathBuf::from),
        last_message_file: parsed.text("--output-last-message").map(PathBuf::from),
        parsed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(std::string::ToString::to_string).collect()
    }

    #[test]
    fn claude_flags_values_and_the_positional_prompt() {
        let request = CliRequest::interpret(
            Dialect::Claude,
            &strings(&[
                "-p",
                "--output-format",
                "stream-json",
                "--verbose",
                "--model=opus",
                "--max-turns",
                "7",
                "--max-budget-usd",
                "1.5",
                "--permission-mode",
                "acceptEdits",
                "--allowedTools",
                "Read",
                "Bash(git log *)",
                "--append-system-prompt",
                "be brief",
                "--resume=abc",
                "--frobnicate",
                "--",
                "do it",
            ]),
        );
        assert!(request.headless);
        assert_eq!(request.output_format, "stream-json");
        assert_eq!(request.model.as_deref(), Some("opus"));
        assert_eq!(request.max_turns, Some(7));
        assert_eq!(request.max_budget_usd, Some(1.5));
        assert_eq!(request.permission_mode.as_deref(), Some("acceptEdits"));
        assert_eq!(request.resume.as_deref(), Some("abc"));
        assert_eq!(request.prompt_arg.as_deref(), Some("do it"));
        assert_eq!(
            request.parsed.list("--allowedTools"),
            vec!["Read", "Bash(git log *)"]
        );
        assert_eq!(
            request.parsed.text("--append-system-prompt"),
            Some("be brief")
        );
        assert_eq!(request.parsed.unknown, vec!["--frobnicate"]);
    }

    #[test]
    fn claude_variadic_tools_swallow_a_following_prompt_like_the_real_cli() {
        let request = CliRequest::interpret(
            Dialect::Claude,
            &strings(&["-p", "--allowedTools", "Read", "fix it"]),
        );
        assert_eq!(
            request.parsed.list("--allowedTools"),
            vec!["Read", "fix it"]
        );
        assert_eq!(request.prompt_arg, None);
    }

    #[test]
    fn claude_resume_takes_an_optional_value() {
        let request =
            CliRequest::interpret(Dialect::Claude, &strings(&["-p", "--resume", "id1", "go"]));
        assert_eq!(request.resume.as_deref(), Some("id1"));
        assert_eq!(request.prompt_arg.as_deref(), Some("go"));
        let request = CliRequest::interpret(Dialect::Claude, &strings(&["--resume", "-p"]));
        assert_eq!(request.resume, None);
        assert!(request.headless);
    }

    #[test]
    fn codex_exec_resume_and_prompt() {
        let request = CliRequest::interpret(
            Dialect::Codex,
            &strings(&[
                "exec",
                "--json",
                "-m",
                "gpt-5",
                "-s",
                "workspace-write",
                "--skip-git-repo-check",
                "-C",
                "/w",
                "resume",
                "t1",
                "-",
            ]),
        );
        assert!(request.headless);
        assert_eq!(request.output_format, "stream-json");
        assert_eq!(request.model.as_deref(), Some("gpt-5"));
        assert_eq!(request.permission_mode.as_deref(), Some("workspace-write"));
        assert_eq!(request.cd, Some(PathBuf::from("/w")));
        assert_eq!(request.resume.as_deref(), Some("t1"));
        assert_eq!(request.prompt_arg, None);
        assert!(request.prompt_from_stdin);
        let request = CliRequest::interpret(
            Dialect::Codex,
            &strings(&["exec", "-c", "a=1", "--config=b=2", "hello"]),
        );
        assert_eq!(request.parsed.list("--config"), vec!["a=1", "b=2"]);
        assert_eq!(request.prompt_arg.as_deref(), Some("hello"));
        assert!(!request.prompt_from_stdin);
        assert_eq!(request.output_format, "text");
        assert!(!CliRequest::interpret(Dialect::Codex, &strings(&["--json", "hello"])).headless);
    }
}
