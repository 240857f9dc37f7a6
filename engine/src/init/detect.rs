//! Detection: the project's test command from its build files, and the agent CLI on `PATH`.

use std::ffi::OsStr;
use std::path::Path;

/// A test command found in the repository, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCommand {
    /// The gate commands (each split like a shell splits words).
    pub commands: Vec<String>,
    /// The file that gave it away (`Cargo.toml`...), or `None` for the placeholder.
    pub source: Option<&'static str>,
    /// Other build files found that would have given another command (reported, not used).
    pub also_found: Vec<&'static str>,
}

impl TestCommand {
    /// The programs the commands run (first word of each, quotes trimmed), deduplicated, in order: what the
    /// gate stage must be granted under `permissions.exec`.
    pub fn programs(&self) -> Vec<String> {
        let mut programs: Vec<String> = Vec::new();
        for command in &self.commands {
            let first = command
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .trim_matches(['\'', '"'])
                .to_string();
            if !first.is_empty() && !programs.contains(&first) {
                programs.push(first);
            }
        }
        programs
    }
}

/// The command used when no build file is recognised: it fails, telling the user to edit it.
pub const PLACEHOLDER_COMMAND: &str = "sh -c 'echo \"engine init found no test command: edit the test stage of this workflow\" >&2; exit 1'";

/// Detects the test command of the repository at `root`, in this order: Cargo.toml,
/// package.json with a `test` script, pyproject.toml / pytest.ini / setup.cfg, go.mod, a
/// Makefile with a `test:` target. The first found wins; the others are listed.
pub fn detect_tests(root: &Path) -> TestCommand {
    let mut found: Vec<(&'static str, Vec<String>)> = Vec::new();
    if root.join("Cargo.toml").is_file() {
        found.push(("Cargo.toml", vec!["cargo test".to_string()]));
    }
    if let Some(command) = node_test(root) {
        found.push(("package.json", vec![command]));
    }
    if let Some(file) = ["pyproject.toml", "pytest.ini", "setup.cfg"]
        .into_iter()
        .find(|f| root.join(f).is_file())
    {
        found.push((file, vec!["python -m pytest".to_string()]));
    }
    if root.join("go.mod").is_file() {
        found.push(("go.mod", vec!["go test ./...".to_string()]));
    }
    if let Some(file) = ["Makefile", "makefile", "GNUmakefile"]
        .into_iter()
        .find(|f| makefile_has_test(&root.join(f)))
    {
        found.push((file, vec!["make test".to_string()]));
    }
    let mut found = found.into_iter();
    match found.next() {
        Some((source, commands)) => TestCommand {
            commands,
            source: Some(source),
            also_found: found.map(|(file, _)| file).collect(),
        },
        None => TestCommand {
            commands: vec![PLACEHOLDER_COMMAND.to_string()],
            source: None,
            also_found: Vec::new(),
        },
    }
}

/// `npm test` (or `pnpm test` / `yarn test` when their lockfile is there) for a package.json
/// with a `test` script.
fn node_test(root: &Path) -> Option<String> {
    let text = std::fs::read_to_string(root.join("package.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.get("scripts")?.get("test")?.as_str()?;
    let runner = if root.join("pnpm-lock.yaml").is_file() {
        "pnpm"
    } else if root.join("yarn.lock").is_file() {
        "yarn"
    } else {
        "npm"
    };
    Some(format!("{runner} test"))
}

/// Whether a Makefile defines a `test` target (a line starting `test:`).
fn makefile_has_test(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| {
        text.lines().any(|line| {
            line.strip_prefix("test")
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
    })
}

/// An agent CLI engine can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backend {
    /// The backend name in the workflow (`with.backend`).
    pub name: &'static str,
    /// The CLI's program name on `PATH`.
    pub program: &'static str,
    /// Host variables to pass to it (`agents.secrets`).
    pub secrets: &'static [&'static str],
    /// Model ids for the tiers: genius, smart, primitive.
    pub models: [&'static str; 3],
}

/// The backends, in order of preference.
pub const BACKENDS: [Backend; 6] = [
    Backend {
        name: "claude",
        program: "claude",
        secrets: &["ANTHROPIC_API_KEY"],
        models: ["opus", "sonnet", "haiku"],
    },
    Backend {
        name: "codex",
        program: "codex",
        secrets: &["OPENAI_API_KEY"],
        models: ["gpt-5", "gpt-5-codex", "gpt-5-mini"],
    },
    Backend {
        name: "gemini",
        program: "gemini",
        secrets: &["GEMINI_API_KEY"],
        models: ["gemini-2.5-pro", "gemini-2.5-pro", "gemini-2.5-flash"],
    },
    Backend {
        name: "opencode",
        program: "opencode",
        secrets: &["ANTHROPIC_API_KEY"],
        models: [
            "anthropic/claude-opus-4-1",
            "anthropic/claude-sonnet-4-5",
            "anthropic/claude-haiku-4-5",
        ],
    },
    Backend {
        name: "aider",
        program: "aider",
        secrets: &["ANTHROPIC_API_KEY", "OPENAI_API_KEY"],
        models: ["opus", "sonnet", "haiku"],
    },
    Backend {
        name: "cursor",
        program: "cursor-agent",
        secrets: &["CURSOR_API_KEY"],
        models: ["opus-4.1", "sonnet-4.5", "sonnet-4.5"],
    },
];

/// The first backend whose CLI is an executable file in one of `path`'s directories, or
/// `None` (the caller falls back to `BACKENDS[0]`, claude).
pub fn detect_backend(path: Option<&OsStr>) -> Option<Backend> {
    let dirs: Vec<_> = path
        .map(|p| std::env::split_paths(p).collect())
        .unwrap_or_default();
    BACKENDS.into_iter().find(|backend| {
        dirs.iter()
            .any(|dir| is_executable(&dir.join(backend.program)))
    })
}

/// Looks a backend up by its workflow name (`--backend`).
pub fn backend_named(name: &str) -> Option<Backend> {
    BACKENDS.into_iter().find(|b| b.name == name)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests;
