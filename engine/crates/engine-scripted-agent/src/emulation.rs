//! Behaviour of the real CLIs worth imitating because it catches argv-building bugs: what
//! they refuse, which model they report, which tools they list.

use std::path::Path;

use crate::args::Dialect;
use crate::claude::DEFAULT_TOOLS;
use crate::cli_request::CliRequest;

/// Why the real CLI would refuse this invocation (its message), or None.
pub fn refusal(
    dialect: Dialect,
    request: &CliRequest,
    env: &[(String, String)],
    cwd: &Path,
    prompt: &str,
) -> Option<String> {
    let message = match dialect {
        Dialect::Claude => claude_refusal(request, env, prompt),
        Dialect::Codex => codex_refusal(request, cwd, prompt),
    };
    message.map(String::from)
}

fn claude_refusal(
    request: &CliRequest,
    env: &[(String, String)],
    prompt: &str,
) -> Option<&'static str> {
    if !request.headless {
        return Some(
            "scripted-agent: as claude, only print mode (-p) is supported; the real CLI would start its interactive UI and wait for a terminal",
        );
    }
    if !matches!(
        request.output_format.as_str(),
        "text" | "json" | "stream-json"
    ) {
        return Some(
            "error: option '--output-format <format>' argument is invalid. Allowed choices are text, json, stream-json.",
        );
    }
    if request.output_format == "stream-json" && !request.parsed.has("--verbose") {
        return Some("Error: When using --print, --output-format=stream-json requires --verbose");
    }
    let sandboxed = env
        .iter()
        .any(|(name, value)| name == "IS_SANDBOX" && value == "1");
    if request.permission_mode.as_deref() == Some("bypassPermissions")
        && running_as_root()
        && !sandboxed
    {
        return Some(
            "--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons",
        );
    }
    if prompt.trim().is_empty() {
        return Some(
            "Error: Input must be provided either through stdin or as a prompt argument when using --print",
        );
    }
    None
}

fn codex_refusal(request: &CliRequest, cwd: &Path, prompt: &str) -> Option<&'static str> {
    if !request.headless {
        return Some(
            "scripted-agent: as codex, only `codex exec` is supported; the real CLI would start its interactive UI",
        );
    }
    if !request.parsed.has("--skip-git-repo-check") && !inside_git_repository(cwd) {
        return Some("Not inside a trusted directory and --skip-git-repo-check was not specified.");
    }
    if prompt.trim().is_empty() {
        return Some(
            "No prompt provided. Either specify one as an argument or pipe the prompt into stdin.",
        );
    }
    None
}

fn inside_git_repository(cwd: &Path) -> bool {
    cwd.ancestors().any(|dir| dir.join(".git").exists())
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The model Claude reports: aliases (`opus`, `sonnet`, `haiku`) resolve through
/// `ANTHROPIC_DEFAULT_<ALIAS>_MODEL` like the real CLI, else to a current model id; no
/// `--model` means `ANTHROPIC_MODEL`, else Sonnet.
pub fn claude_model(model: Option<&str>, env: &[(String, String)]) -> String {
    let lookup = |name: &str| {
        env.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let Some(alias) = model else {
        return lookup("ANTHROPIC_MODEL").unwrap_or_else(|| claude_model(Some("sonnet"), env));
    };
    let default = match alias {
        "opus" => "claude-opus-4-1-20250805",
        "sonnet" => "claude-sonnet-4-5-20250929",
        "haiku" => "claude-haiku-4-5-20251001",
        other => return other.to_string(),
    };
    lookup(&format!("ANTHROPIC_DEFAULT_{}_MODEL", alias.to_uppercase()))
        .unwrap_or_else(|| default.to_string())
}

/// The tools Claude's init event lists: `--tools` when given, else the defaults without the
/// `--disallowedTools` named plainly (comma- or space-separated; patterns like `Bash(rm *)`
/// do not remove a tool).
pub fn claude_tools(request: &CliRequest) -> Vec<String> {
    let split = |values: Vec<String>| -> Vec<String> {
        values
            .iter()
            .flat_map(|value| value.split([',', ' ']))
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(String::from)
            .collect()
    };
    let chosen = split(request.parsed.list("--tools"));
    if !chosen.is_empty() {
        return chosen;
    }
    let denied = split(request.parsed.list("--disallowedTools"));
    DEFAULT_TOOLS
        .iter()
        .filter(|tool| !denied.iter().any(|name| name == *tool))
        .map(std::string::ToString::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claude(args: &[&str]) -> CliRequest {
        let args: Vec<String> = args.iter().map(std::string::ToString::to_string).collect();
        CliRequest::interpret(Dialect::Claude, &args)
    }

    #[test]
    fn claude_refuses_what_the_real_cli_refuses() {
        let env = [];
        let ok = claude(&["-p", "--output-format", "stream-json", "--verbose"]);
        assert_eq!(claude_refusal(&ok, &env, "hi"), None);
        assert!(
            claude_refusal(&ok, &env, " ")
                .unwrap()
                .contains("Input must be provided")
        );
        let no_verbose = claude(&["-p", "--output-format", "stream-json"]);
        assert!(
            claude_refusal(&no_verbose, &env, "hi")
                .unwrap()
                .contains("requires --verbose")
        );
        assert!(
            claude_refusal(&claude(&["hi"]), &env, "hi")
                .unwrap()
                .contains("-p")
        );
        assert!(claude_refusal(&claude(&["-p", "--output-format", "xml"]), &env, "hi").is_some());
        let bypass = claude(&["-p", "--dangerously-skip-permissions"]);
        let refused = claude_refusal(&bypass, &env, "hi");
        assert_eq!(refused.is_some(), running_as_root());
        let sandbox = [("IS_SANDBOX".to_string(), "1".to_string())];
        assert_eq!(claude_refusal(&bypass, &sandbox, "hi"), None);
    }

    #[test]
    fn codex_wants_exec_a_git_repo_or_the_skip_flag_and_a_prompt() {
        let temp = tempfile::tempdir().unwrap();
        let codex = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(std::string::ToString::to_string).collect();
            CliRequest::interpret(Dialect::Codex, &args)
        };
        let plain = codex(&["exec", "--json", "hi"]);
        assert!(
            codex_refusal(&plain, temp.path(), "hi")
                .unwrap()
                .contains("--skip-git-repo-check")
        );
        std::fs::create_dir(temp.path().join(".git")).unwrap();
        std::fs::create_dir(temp.path().join("sub")).unwrap();
        assert_eq!(codex_refusal(&plain, &temp.path().join("sub"), "hi"), None);
        let skip = codex(&["exec", "--skip-git-repo-check"]);
        assert!(
            codex_refusal(&skip, Path::new("/"), "")
                .unwrap()
                .contains("No prompt")
        );
        assert!(codex_refusal(&codex(&["--json", "hi"]), temp.path(), "hi").is_some());
    }

    #[test]
    fn claude_model_aliases_follow_the_tier_variables() {
        let env = [(
            "ANTHROPIC_DEFAULT_OPUS_MODEL".to_string(),
            "my-opus".to_string(),
        )];
        assert_eq!(claude_model(Some("opus"), &env), "my-opus");
        assert_eq!(
            claude_model(Some("haiku"), &env),
            "claude-haiku-4-5-20251001"
        );
        assert_eq!(claude_model(Some("custom-1"), &env), "custom-1");
        assert_eq!(claude_model(None, &[]), "claude-sonnet-4-5-20250929");
    }

    #[test]
    fn claude_tools_honour_tools_and_disallowed_tools() {
        let tools = claude_tools(&claude(&[
            "-p",
            "--disallowedTools",
            "Bash,WebSearch",
            "Bash(rm *)",
        ]));
        assert!(!tools.contains(&"Bash".to_string()));
        assert!(!tools.contains(&"WebSearch".to_string()));
        assert!(tools.contains(&"Read".to_string()));
        assert_eq!(
            claude_tools(&claude(&["-p", "--tools", "Read,Edit"])),
            vec!["Read", "Edit"]
        );
    }
}
