//! Pure parsing of git's outputs and building of commit messages.

use crate::runner::Output;

/// The trailer naming the run that made a commit; reconciliation looks for it.
pub const RUN_TRAILER: &str = "Engine-Run";

/// The trailer naming the task.
pub const TASK_TRAILER: &str = "Engine-Task";

/// What `git merge-tree --write-tree --name-only --no-messages -z` said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeTree {
    /// The merge is clean: its tree.
    Clean(String),
    /// The merge conflicts in these files (deduplicated, in git's order).
    Conflicts(Vec<String>),
}

/// Parses merge-tree's output: exit 0 is clean, exit 1 lists the conflicted files after the
/// tree, anything else is an error (returned as text).
pub fn parse_merge_tree(out: &Output) -> Result<MergeTree, String> {
    let mut fields = out.stdout.split('\0');
    let tree = fields.next().unwrap_or("").trim().to_string();
    match out.code {
        Some(0) if is_oid(&tree) => Ok(MergeTree::Clean(tree)),
        Some(1) if is_oid(&tree) => {
            let mut files: Vec<String> = Vec::new();
            for name in fields.filter(|f| !f.is_empty()) {
                if !files.iter().any(|f| f == name) {
                    files.push(name.to_string());
                }
            }
            Ok(MergeTree::Conflicts(files))
        }
        _ => Err(format!(
            "git merge-tree failed ({}): {}",
            out.status_text(),
            out.stderr.trim()
        )),
    }
}

/// True for a hex object id.
pub fn is_oid(text: &str) -> bool {
    (text.len() == 40 || text.len() == 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// One entry of `git worktree list --porcelain`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Worktree {
    /// Its path on the host.
    pub path: String,
    /// The branch checked out (`refs/heads/...`), if any.
    pub branch: Option<String>,
    /// The repository is bare (no files checked out).
    pub bare: bool,
    /// Git considers it prunable (its directory is gone).
    pub prunable: bool,
}

/// Parses `git worktree list --porcelain`.
pub fn parse_worktrees(text: &str) -> Vec<Worktree> {
    let mut all = Vec::new();
    let mut current: Option<Worktree> = None;
    for line in text.lines() {
        if let Some(path) = line.strip_prefix("worktree ") {
            all.extend(current.take());
            current = Some(Worktree {
                path: path.to_string(),
                ..Worktree::default()
            });
            continue;
        }
        let Some(entry) = current.as_mut() else {
            continue;
        };
        if let Some(branch) = line.strip_prefix("branch ") {
            entry.branch = Some(branch.to_string());
        } else if line == "bare" {
            entry.bare = true;
        } else if line == "prunable" || line.starts_with("prunable ") {
            entry.prunable = true;
        }
    }
    all.extend(current);
    all
}

/// The worktrees where `branch_ref` is checked out and files could be out of date.
pub fn checkouts_of(worktrees: &[Worktree], branch_ref: &str) -> Vec<String> {
    worktrees
        .iter()
        .filter(|w| !w.bare && !w.prunable && w.branch.as_deref() == Some(branch_ref))
        .map(|w| w.path.clone())
        .collect()
}

/// The `--format` that [`parse_marked_commits`] reads: id, unit separator, message, record
/// separator.
pub const MARKED_LOG_FORMAT: &str = "--format=%H%x1f%B%x1e";

/// The commits of a `git log` (in [`MARKED_LOG_FORMAT`]) whose message has the exact line
/// `Engine-Run: <run_id>`, in log order.
pub fn parse_marked_commits(text: &str, run_id: &str) -> Vec<String> {
    let wanted = format!("{RUN_TRAILER}: {run_id}");
    text.split('\x1e')
        .filter_map(|record| {
            let (sha, message) = record.split_once('\x1f')?;
            let sha = sha.trim();
            let marked = message.lines().any(|l| l.trim_end() == wanted);
            (marked && is_oid(sha)).then(|| sha.to_string())
        })
        .collect()
}

/// `message` with these trailers appended: in its last paragraph when that is already a
/// trailer block, else in a new paragraph.
pub fn with_trailers(message: &str, trailers: &[(&str, &str)]) -> String {
    let body = message.trim_end();
    let lines: String = trailers
        .iter()
        .map(|(key, value)| format!("{key}: {value}"))
        .collect::<Vec<_>>()
        .join("\n");
    if body.is_empty() {
        return lines;
    }
    let last_paragraph = body.rsplit("\n\n").next().unwrap_or("");
    let is_trailer_block = body.contains("\n\n")
        && last_paragraph.lines().all(|line| {
            line.split_once(": ").is_some_and(|(key, _)| {
                !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
        });
    if is_trailer_block {
        format!("{body}\n{lines}")
    } else {
        format!("{body}\n\n{lines}")
    }
}

/// The default commit message: the task's title, a blank line and its body (trimmed).
pub fn default_message(title: &str, body: &str) -> String {
    let (title, body) = (title.trim(), body.trim());
    match (title.is_empty(), body.is_empty()) {
        (_, true) => title.to_string(),
        (true, false) => body.to_string(),
        (false, false) => format!("{title}\n\n{body}"),
    }
}

/// A commit's author and message, from `git show -s --date=raw` with [`AUTHOR_FORMAT`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authored {
    /// Author name.
    pub name: String,
    /// Author email.
    pub email: String,
    /// Author date, raw (`1700000000 +0100`).
    pub date: String,
    /// Full message.
    pub message: String,
}

/// The `--format` that [`parse_authored`] reads.
pub const AUTHOR_FORMAT: &str = "--format=%an%x00%ae%x00%ad%x00%B";

/// Parses the output of `git show -s --date=raw` with [`AUTHOR_FORMAT`].
pub fn parse_authored(text: &str) -> Option<Authored> {
    let mut parts = text.splitn(4, '\0');
    Some(Authored {
        name: parts.next()?.to_string(),
        email: parts.next()?.to_string(),
        date: parts.next()?.to_string(),
        message: parts.next()?.trim_end().to_string(),
    })
}

/// The first 7 characters of a commit id.
pub fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn out(code: i32, stdout: &str) -> Output {
        Output {
            code: Some(code),
            stdout: stdout.to_string(),
            stderr: "boom".to_string(),
        }
    }

    #[test]
    fn merge_tree_clean_conflicted_and_broken() {
        assert_eq!(
            parse_merge_tree(&out(0, &format!("{A}\0"))),
            Ok(MergeTree::Clean(A.to_string()))
        );
        assert_eq!(
            parse_merge_tree(&out(1, &format!("{A}\0f\0g\0f\0"))),
            Ok(MergeTree::Conflicts(vec!["f".into(), "g".into()]))
        );
        assert!(
            parse_merge_tree(&out(128, ""))
                .unwrap_err()
                .contains("boom")
        );
        assert!(parse_merge_tree(&out(0, "garbage\0")).is_err());
    }

    #[test]
    fn worktrees_and_checkouts_of_a_branch() {
        let text = format!(
            "worktree /repo\nHEAD {A}\nbranch refs/heads/main\n\n\
             worktree /wt/run\nHEAD {B}\nbranch refs/heads/engine/t1\n\n\
             worktree /gone\nHEAD {A}\nbranch refs/heads/main\nprunable gitdir file points to non-existent location\n\n\
             worktree /det\nHEAD {A}\ndetached\n"
        );
        let all = parse_worktrees(&text);
        assert_eq!(all.len(), 4);
        assert_eq!(all[3].branch, None);
        assert_eq!(checkouts_of(&all, "refs/heads/main"), vec!["/repo"]);
        assert!(checkouts_of(&all, "refs/heads/dev").is_empty());
        let bare = parse_worktrees("worktree /b.git\nbare\n");
        assert!(checkouts_of(&bare, "refs/heads/main").is_empty());
    }

    #[test]
    fn marked_commits_match_the_exact_run_id_line() {
        let log = format!(
            "{A}\x1fsubject\n\nEngine-Run: r1\nEngine-Task: t\n\x1e\n\
             {B}\x1fother\n\nEngine-Run: r10\n\x1e\n"
        );
        assert_eq!(parse_marked_commits(&log, "r1"), vec![A.to_string()]);
        assert_eq!(parse_marked_commits(&log, "r10"), vec![B.to_string()]);
        assert!(parse_marked_commits(&log, "r").is_empty());
        assert!(parse_marked_commits("", "r1").is_empty());
    }

    #[test]
    fn trailers_join_an_existing_block_or_start_one() {
        let t = [("Engine-Run", "r1")];
        assert_eq!(
            with_trailers("Title\n\nBody\n", &t),
            "Title\n\nBody\n\nEngine-Run: r1"
        );
        assert_eq!(
            with_trailers("Title\n\nSigned-off-by: A <a@b>", &t),
            "Title\n\nSigned-off-by: A <a@b>\nEngine-Run: r1"
        );
        assert_eq!(
            with_trailers("Fix: the bug", &t),
            "Fix: the bug\n\nEngine-Run: r1"
        );
        assert_eq!(with_trailers("", &t), "Engine-Run: r1");
    }

    #[test]
    fn default_message_is_title_blank_line_body() {
        assert_eq!(default_message(" T ", "\n body \n"), "T\n\nbody");
        assert_eq!(default_message("T", "  "), "T");
    }

    #[test]
    fn authored_splits_on_nul() {
        let a = parse_authored("Ann\0ann@x\x001700000000 +0100\0Msg\n\nBody\n").unwrap();
        assert_eq!(a.name, "Ann");
        assert_eq!(a.date, "1700000000 +0100");
        assert_eq!(a.message, "Msg\n\nBody");
        assert!(parse_authored("Ann\0x").is_none());
        assert_eq!(short(A), "aaaaaaa");
    }
}
