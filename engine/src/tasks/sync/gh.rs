//! The `gh` calls of `engine tasks sync`: the user's own GitHub CLI, run as a normal host
//! process in the repository (like a task source's `gh`, it is not confined: it needs the
//! user's login and the network; see docs/github-sync.md). Each call has a time limit, gets
//! no terminal prompt (`GH_PROMPT_DISABLED=1`), and passes issue bodies on stdin
//! (`--body-file -`) so no text of a task or issue is ever read as an option.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::SyncError;

/// How long one `gh` call may take.
const CALL_TIMEOUT: Duration = Duration::from_mins(2);

/// The most output a `gh` call may print that is kept (a listing of many issues fits).
const MAX_OUTPUT: usize = 64 << 20;

/// An issue as `gh issue list --json number,title,body,state,labels,url` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Issue {
    /// The issue number.
    pub number: u64,
    /// Its title.
    pub title: String,
    /// Its body (markdown; may be empty).
    #[serde(default)]
    pub body: String,
    /// `OPEN` or `CLOSED` (any case).
    pub state: String,
    /// Its labels.
    #[serde(default)]
    pub labels: Vec<Label>,
    /// Its web address.
    #[serde(default)]
    pub url: String,
}

impl Issue {
    /// Whether the issue is closed.
    pub fn is_closed(&self) -> bool {
        self.state.eq_ignore_ascii_case("closed")
    }
}

/// A label of an issue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Label {
    /// The label's name.
    pub name: String,
}

/// The `gh` program and the repository it works on.
#[derive(Debug, Clone)]
pub struct Gh {
    /// The program (`gh`, found on PATH).
    pub program: PathBuf,
    /// Where it runs (the repository root: `gh` finds the GitHub repository from its remote).
    pub cwd: PathBuf,
    /// `--repo OWNER/NAME`, when given.
    pub repo: Option<String>,
}

impl Gh {
    /// `gh` on PATH, run in `cwd`.
    pub fn new(cwd: &Path, repo: Option<String>) -> Self {
        Gh {
            program: PathBuf::from("gh"),
            cwd: cwd.to_path_buf(),
            repo,
        }
    }

    /// Every issue (open and closed) carrying all of `labels`, at most `limit`.
    pub async fn list(&self, labels: &[String], limit: u32) -> Result<Vec<Issue>, SyncError> {
        let mut args: Vec<String> = [
            "issue",
            "list",
            "--state",
            "all",
            "--limit",
            &limit.to_string(),
            "--json",
            "number,title,body,state,labels,url",
        ]
        .map(str::to_string)
        .to_vec();
        for label in labels {
            args.push("--label".into());
            args.push(label.clone());
        }
        let out = self.call(&args, None).await?;
        serde_json::from_str(&out).map_err(|e| SyncError::Gh {
            command: "gh issue list".into(),
            message: format!("its output is not the expected JSON: {e}"),
        })
    }

    /// Creates an issue; returns its number (from the address `gh` prints).
    pub async fn create(
        &self,
        title: &str,
        body: &str,
        labels: &[String],
    ) -> Result<u64, SyncError> {
        let mut args: Vec<String> = vec![
            "issue".into(),
            "create".into(),
            "--title".into(),
            title.into(),
            "--body-file".into(),
            "-".into(),
        ];
        for label in labels {
            args.push("--label".into());
            args.push(label.clone());
        }
        let out = self.call(&args, Some(body)).await?;
        issue_number(&out).ok_or_else(|| SyncError::Gh {
            command: "gh issue create".into(),
            message: format!(
                "it did not print the new issue's address (printed {:?})",
                out.chars().take(200).collect::<String>()
            ),
        })
    }

    /// Sets an issue's title and body, and adds `add_labels`.
    pub async fn edit(
        &self,
        number: u64,
        title: &str,
        body: &str,
        add_labels: &[String],
    ) -> Result<(), SyncError> {
        let mut args: Vec<String> = vec![
            "issue".into(),
            "edit".into(),
            number.to_string(),
            "--title".into(),
            title.into(),
            "--body-file".into(),
            "-".into(),
        ];
        for label in add_labels {
            args.push("--add-label".into());
            args.push(label.clone());
        }
        self.call(&args, Some(body)).await.map(drop)
    }

    /// Closes (`closed`) or reopens an issue.
    pub async fn set_closed(&self, number: u64, closed: bool) -> Result<(), SyncError> {
        let verb = if closed { "close" } else { "reopen" };
        let args = vec!["issue".into(), verb.into(), number.to_string()];
        self.call(&args, None).await.map(drop)
    }

    /// Runs `gh ARGS [--repo R]` with `stdin`; its stdout, or why it failed.
    async fn call(&self, args: &[String], stdin: Option<&str>) -> Result<String, SyncError> {
        let mut args = args.to_vec();
        if let Some(repo) = &self.repo {
            args.push("--repo".into());
            args.push(repo.clone());
        }
        let shown = format!(
            "gh {}",
            args.iter().take(2).cloned().collect::<Vec<_>>().join(" ")
        );
        let fail = |message: String| SyncError::Gh {
            command: shown.clone(),
            message,
        };
        let mut child = tokio::process::Command::new(&self.program)
            .args(&args)
            .current_dir(&self.cwd)
            .env("GH_PROMPT_DISABLED", "1")
            .env("NO_COLOR", "1")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                fail(if e.kind() == std::io::ErrorKind::NotFound {
                    "gh is not installed (or not on PATH); see https://cli.github.com".into()
                } else {
                    format!("cannot start gh: {e}")
                })
            })?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes())
                .await
                .map_err(|e| fail(format!("cannot write the body to gh: {e}")))?;
            drop(pipe);
        }
        let output = tokio::time::timeout(CALL_TIMEOUT, child.wait_with_output())
            .await
            .map_err(|_| fail(format!("gave no answer within {}s", CALL_TIMEOUT.as_secs())))?
            .map_err(|e| fail(format!("cannot read gh's output: {e}")))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let tail: String = stderr.trim().chars().take(2000).collect();
            return Err(fail(format!(
                "exited with {}: {}",
                output.status,
                crate::terminal::safe_lines(&tail)
            )));
        }
        if output.stdout.len() > MAX_OUTPUT {
            return Err(fail(format!("printed more than {MAX_OUTPUT} bytes")));
        }
        String::from_utf8(output.stdout).map_err(|_| fail("printed text that is not UTF-8".into()))
    }
}

/// The number at the end of an issue address (`https://github.com/o/r/issues/12`).
fn issue_number(out: &str) -> Option<u64> {
    let line = out.lines().rev().find(|l| !l.trim().is_empty())?.trim();
    let (_, number) = line.rsplit_once("/issues/")?;
    number.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_new_issue_number_is_read_from_its_address() {
        assert_eq!(
            issue_number("Creating issue in o/r\n\nhttps://github.com/o/r/issues/12\n"),
            Some(12)
        );
        assert_eq!(issue_number("https://github.com/o/r/pull/12\n"), None);
        assert_eq!(issue_number(""), None);
        assert_eq!(issue_number("https://github.com/o/r/issues/x"), None);
    }

    #[test]
    fn issues_parse_from_gh_json() {
        let issues: Vec<Issue> = serde_json::from_str(
            r#"[{"number":3,"title":"t","body":"b","state":"CLOSED","labels":[{"name":"engine"}],"url":"u"}]"#,
        )
        .unwrap();
        assert!(issues[0].is_closed());
        assert_eq!(issues[0].labels[0].name, "engine");
    }
}
