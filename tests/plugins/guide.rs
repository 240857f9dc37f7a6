//! Following a guide literally: every `sh` fenced block of a Markdown file, in order, run by one
//! `bash -euo pipefail` in a fresh temporary directory, with this build's `engine` first on
//! PATH and the toolchains shared through `ENGINE_TOOLS_DIR`. A block fenced as `sh` is a
//! command the reader types; output the guide shows goes in `text` blocks, which are skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory the pinned plugin toolchains are installed in, shared by every test (and by
/// `scripts/test.sh plugins` runs on this machine): `target/plugin-tools`.
pub fn tools_dir() -> PathBuf {
    super::support::repo::source_root().join("target/plugin-tools")
}

/// The `sh` fenced blocks of a Markdown text, in order (blocks fenced with another language, or
/// none, are skipped whole).
pub fn shell_blocks(markdown: &str) -> Vec<String> {
    enum State {
        Outside,
        Sh(String),
        Other,
    }
    let mut blocks = Vec::new();
    let mut state = State::Outside;
    for line in markdown.lines() {
        let fence = line.trim_start().starts_with("```");
        state = match state {
            State::Outside if fence => {
                if line.trim_start().trim_start_matches('`').trim() == "sh" {
                    State::Sh(String::new())
                } else {
                    State::Other
                }
            }
            State::Outside => State::Outside,
            State::Sh(text) if fence => {
                blocks.push(text);
                State::Outside
            }
            State::Sh(mut text) => {
                text.push_str(line);
                text.push('\n');
                State::Sh(text)
            }
            State::Other if fence => State::Outside,
            State::Other => State::Other,
        };
    }
    blocks
}

/// What running a guide did.
#[derive(Debug)]
pub struct Followed {
    /// The temporary directory the commands ran in (kept until this value is dropped); the
    /// repository the guide was followed in is its `my-repo`.
    pub dir: tempfile::TempDir,
    /// The script that ran (the guide's blocks joined).
    pub script: String,
    /// Everything it printed (stdout and stderr interleaved).
    pub output: String,
}

/// Runs every `sh` fenced block of `doc` (relative to the repository root) in order, in one shell, in
/// a fresh temporary directory that is a new git repository with one commit; panics with the
/// script and its output when a command fails.
pub fn follow(doc: &str) -> Followed {
    let root = super::support::repo::source_root();
    let text = std::fs::read_to_string(root.join(doc)).unwrap_or_else(|e| panic!("{doc}: {e}"));
    let blocks = shell_blocks(&text);
    assert!(!blocks.is_empty(), "{doc} has no ```sh block to follow");
    let script = blocks.join("\n");
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("my-repo");
    std::fs::create_dir(&repo).unwrap();
    super::support::repo::git_in(&repo, &["init", "-q", "-b", "main"]);
    super::support::repo::git_in(&repo, &["config", "user.name", "Guide Reader"]);
    super::support::repo::git_in(&repo, &["config", "user.email", "reader@example.invalid"]);
    std::fs::write(repo.join("README.md"), "# my repo\n").unwrap();
    super::support::repo::git_in(&repo, &["add", "-A"]);
    super::support::repo::git_in(&repo, &["commit", "-q", "-m", "init"]);
    let output = run_script(&repo, &script);
    Followed {
        dir,
        script,
        output,
    }
}

fn run_script(repo: &Path, script: &str) -> String {
    let engine_dir = super::support::engine_bin()
        .parent()
        .map(Path::to_path_buf)
        .unwrap();
    let path = format!(
        "{}:{}",
        engine_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c"])
        .arg(format!("exec 2>&1\n{script}"))
        .current_dir(repo)
        .env("PATH", path)
        .env("ENGINE_TOOLS_DIR", tools_dir())
        // A Rust guide's cargo build reuses the dependencies an earlier run compiled.
        .env(
            "CARGO_TARGET_DIR",
            super::support::repo::source_root().join("target/plugin-projects"),
        )
        .env("CI", "true")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let output = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "following the guide failed ({}).\n--- script ---\n{script}\n--- output ---\n{output}",
        out.status
    );
    output
}

#[test]
fn only_sh_blocks_are_commands() {
    let md = "intro\n```sh\necho one\n```\n```text\n$ not a command\n```\n```yaml\na: b\n```\n```sh\necho two\necho three\n```\n";
    assert_eq!(
        shell_blocks(md),
        vec![
            "echo one\n".to_string(),
            "echo two\necho three\n".to_string()
        ]
    );
}
