//! The GitHub CLI as `engine reviews` uses it: run on the host, in the repository's root (so
//! `gh` finds the repository and fills `{owner}/{repo}` in), never through a shell, never
//! prompting. Text from GitHub or the run goes to `gh` only as JSON on its standard input
//! (`gh api --input -`), never as an argument.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::de::DeserializeOwned;

use super::ReviewsError;
use super::model::{Conversation, PR_FIELDS, PullRequest, parse_pages};

/// The most of `gh`'s stderr an error message quotes.
const STDERR_CAP: usize = 2000;

/// How many open PRs one `gh pr list` asks for.
const LIST_LIMIT: &str = "200";

/// `gh`, run in one repository.
#[derive(Debug, Clone)]
pub struct Gh {
    dir: PathBuf,
}

impl Gh {
    /// `gh` working in the repository at `dir`.
    pub fn new(dir: &Path) -> Gh {
        Gh {
            dir: dir.to_path_buf(),
        }
    }

    /// Runs `gh ARGS` (with `stdin` fed to it, if any); its stdout when it exits 0.
    fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> Result<String, ReviewsError> {
        let mut command = Command::new("gh");
        command
            .args(args)
            .current_dir(&self.dir)
            .env("GH_PROMPT_DISABLED", "1")
            .env("GH_PAGER", "cat")
            .env("NO_COLOR", "1")
            .env("GH_NO_UPDATE_NOTIFIER", "1")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(ReviewsError::GhMissing)?;
        if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // A gh that exits without reading says why on stderr; that is the error reported.
            let _ = pipe.write_all(bytes);
        }
        let output = child.wait_with_output().map_err(ReviewsError::GhMissing)?;
        if output.status.success() {
            return String::from_utf8(output.stdout).map_err(|_| ReviewsError::GhOutput {
                command: abbreviated(args),
                detail: "not UTF-8".into(),
            });
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let mut stderr = stderr.trim().to_string();
        if stderr.len() > STDERR_CAP {
            let mut end = STDERR_CAP;
            while !stderr.is_char_boundary(end) {
                end -= 1;
            }
            stderr.truncate(end);
            stderr.push('…');
        }
        Err(ReviewsError::Gh {
            command: abbreviated(args),
            status: output
                .status
                .code()
                .map_or_else(|| "killed by a signal".into(), |c| format!("exit {c}")),
            stderr: crate::terminal::safe(&stderr).into_owned(),
        })
    }

    /// Runs `gh ARGS` and reads its stdout as JSON.
    fn json<T: DeserializeOwned>(&self, args: &[&str]) -> Result<T, ReviewsError> {
        let text = self.run(args, None)?;
        serde_json::from_str(&text).map_err(|e| ReviewsError::GhOutput {
            command: abbreviated(args),
            detail: e.to_string(),
        })
    }

    /// `gh api --paginate PATH`: every item of every page.
    fn pages<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, ReviewsError> {
        let args = ["api", "--paginate", path];
        let text = self.run(&args, None)?;
        parse_pages(&text).map_err(|detail| ReviewsError::GhOutput {
            command: abbreviated(&args),
            detail,
        })
    }

    /// The repository's open pull requests.
    pub fn open_prs(&self) -> Result<Vec<PullRequest>, ReviewsError> {
        self.json(&[
            "pr", "list", "--state", "open", "--limit", LIST_LIMIT, "--json", PR_FIELDS,
        ])
    }

    /// Pull request `number`, whatever its state.
    pub fn pr(&self, number: u64) -> Result<PullRequest, ReviewsError> {
        let fields = format!("{PR_FIELDS},state");
        self.json(&["pr", "view", &number.to_string(), "--json", &fields])
    }

    /// Its review comments, reviews and conversation comments.
    pub fn conversation(&self, number: u64) -> Result<Conversation, ReviewsError> {
        let base = format!("repos/{{owner}}/{{repo}}/pulls/{number}");
        Ok(Conversation {
            comments: self.pages(&format!("{base}/comments"))?,
            reviews: self.pages(&format!("{base}/reviews"))?,
            issue_comments: self.pages(&format!(
                "repos/{{owner}}/{{repo}}/issues/{number}/comments"
            ))?,
        })
    }

    /// Posts `body` as a reply in the thread of review comment `thread` of PR `number`.
    pub fn reply_to_comment(
        &self,
        number: u64,
        thread: u64,
        body: &str,
    ) -> Result<(), ReviewsError> {
        let path = format!("repos/{{owner}}/{{repo}}/pulls/{number}/comments/{thread}/replies");
        self.post(&path, body)
    }

    /// Posts `body` as a comment on PR `number`'s conversation.
    pub fn comment_on_pr(&self, number: u64, body: &str) -> Result<(), ReviewsError> {
        let path = format!("repos/{{owner}}/{{repo}}/issues/{number}/comments");
        self.post(&path, body)
    }

    fn post(&self, path: &str, body: &str) -> Result<(), ReviewsError> {
        let input = serde_json::json!({ "body": body }).to_string();
        self.run(
            &["api", "--method", "POST", path, "--input", "-"],
            Some(input.as_bytes()),
        )
        .map(|_| ())
    }
}

/// `args` for a message: the first few words.
fn abbreviated(args: &[&str]) -> String {
    let mut text = args.iter().take(4).copied().collect::<Vec<_>>().join(" ");
    if args.len() > 4 {
        text.push_str(" …");
    }
    crate::terminal::safe(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_start_of_the_command() {
        assert_eq!(abbreviated(&["pr", "list"]), "pr list");
        assert_eq!(
            abbreviated(&["api", "--method", "POST", "x", "--input", "-"]),
            "api --method POST x …"
        );
    }
}
