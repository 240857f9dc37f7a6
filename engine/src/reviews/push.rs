//! The git side of answering a review: fetch the PR's head branch, and push the fix back to
//! it. Only ever `git fetch` into the remote-tracking ref of that branch and a plain (never
//! forced) `git push <remote> <commit>:refs/heads/<branch>`: no local branch of the user's,
//! no checkout, no other remote branch is touched. Branch and remote names from GitHub or the
//! command line are checked before they reach git ([`check_branch`], [`check_remote`]), and
//! git runs without a shell.

use std::path::Path;
use std::process::{Command, Stdio};

use engine_git::Repo;

use super::ReviewsError;

/// Refuses a PR head branch name that is not a plain branch name git would accept (it comes
/// from GitHub: it must not become an option, a path outside `refs/heads/`, or a revision
/// expression).
pub fn check_branch(name: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("its head branch {name:?} {why}"));
    if name.is_empty() {
        return bad("is empty");
    }
    if name.starts_with('-') || name.starts_with('/') || name.ends_with('/') {
        return bad("starts with `-` or `/`, or ends with `/`");
    }
    let lock = Path::new(name).extension().is_some_and(|e| e == "lock");
    if lock || name.ends_with('.') {
        return bad("ends with `.lock` or `.`");
    }
    if name.contains("..") || name.contains("//") || name.contains("@{") || name == "@" {
        return bad("contains `..`, `//` or `@{`");
    }
    if name
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || "~^:?*[\\".contains(c))
    {
        return bad("contains a space, a control character or one of ~^:?*[\\");
    }
    if name.split('/').any(|part| part.starts_with('.')) {
        return bad("has a part starting with `.`");
    }
    Ok(())
}

/// Refuses a remote name that could be read as an option or a path.
pub fn check_remote(name: &str) -> Result<(), String> {
    let plain = !name.is_empty()
        && !name.starts_with('-')
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if plain {
        Ok(())
    } else {
        Err(format!(
            "--remote {:?}: give the name of a git remote (`git remote -v` lists them)",
            crate::terminal::safe(name)
        ))
    }
}

/// `git ARGS` in the repository's root, no prompt for credentials; stdout when it exits 0.
fn git(root: &Path, args: &[&str]) -> Result<String, ReviewsError> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| ReviewsError::GitCommand {
            command: command_word(args),
            status: "did not start".into(),
            stderr: e.to_string(),
        })?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    Err(ReviewsError::GitCommand {
        command: command_word(args),
        status: output
            .status
            .code()
            .map_or_else(|| "killed by a signal".into(), |c| format!("exit {c}")),
        stderr: crate::terminal::safe(String::from_utf8_lossy(&output.stderr).trim()).into_owned(),
    })
}

fn command_word(args: &[&str]) -> String {
    args.first().copied().unwrap_or_default().to_string()
}

/// The remote-tracking ref of `branch` on `remote`.
pub fn tracking_ref(remote: &str, branch: &str) -> String {
    format!("refs/remotes/{remote}/{branch}")
}

/// Fetches `branch` of `remote` into its remote-tracking ref (forced, as `git fetch` does for
/// remote-tracking refs); returns the commit it is at.
pub fn fetch(repo: &Repo, remote: &str, branch: &str) -> Result<String, ReviewsError> {
    let tracking = tracking_ref(remote, branch);
    let refspec = format!("+refs/heads/{branch}:{tracking}");
    git(
        repo.root(),
        &[
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            remote,
            &refspec,
        ],
    )?;
    Ok(repo.rev_parse(&format!("{tracking}^{{commit}}"))?)
}

/// Makes `commit` the tip of `branch` on `remote` unless it is there already: fetches the
/// branch first, and when `commit` is its tip or an ancestor of it (pushed by an earlier,
/// interrupted `engine reviews`) pushes nothing. Otherwise a plain `git push`, which the remote
/// refuses when the branch moved meanwhile. Returns whether it pushed.
pub fn push(repo: &Repo, remote: &str, branch: &str, commit: &str) -> Result<bool, ReviewsError> {
    let now = fetch(repo, remote, branch)?;
    if now == commit || repo.is_ancestor(commit, &now)? {
        return Ok(false);
    }
    let refspec = format!("{commit}:refs/heads/{branch}");
    git(repo.root(), &["push", "--quiet", remote, &refspec])?;
    Ok(true)
}

/// What the fix did, for the replies: the commits' subjects (oldest first) and the files it
/// changed, from `start` to `tip`.
pub fn what_was_done(
    repo: &Repo,
    start: &str,
    tip: &str,
) -> Result<(Vec<String>, Vec<String>), ReviewsError> {
    let range = format!("{start}..{tip}");
    let subjects = git(
        repo.root(),
        &["log", "--reverse", "--format=%s", &range, "--"],
    )?;
    let files = git(
        repo.root(),
        &["diff", "--name-only", "--no-renames", start, tip, "--"],
    )?;
    let lines = |text: &str| {
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    Ok((lines(&subjects), lines(&files)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_branch_names_pass() {
        for name in ["engine/t1-add-x", "main", "feature/a_b.c", "engine/T-1"] {
            assert_eq!(check_branch(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn hostile_branch_names_are_refused() {
        for name in [
            "",
            "--upload-pack=sh",
            "-x",
            "a..b",
            "a b",
            "a\nb",
            "x:refs/heads/main",
            "a/.hidden",
            "x.lock",
            "a@{1}",
            "/abs",
            "a//b",
            "a\\b",
            "a~1",
            "a^",
            "*",
        ] {
            assert!(check_branch(name).is_err(), "{name:?} passed");
        }
    }

    #[test]
    fn remotes_are_plain_names() {
        assert!(check_remote("origin").is_ok());
        assert!(check_remote("up-stream_2").is_ok());
        for name in ["", "-x", "../x", "/tmp/x", "a b", ".."] {
            assert!(check_remote(name).is_err(), "{name:?}");
        }
    }
}
