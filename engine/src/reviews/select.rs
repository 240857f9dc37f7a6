//! Which pull requests are engine's and which of their review feedback engine has not answered
//! yet. Pure: everything comes from what `gh` said.
//!
//! - A PR is **engine's** when its head branch starts with the workflow's branch prefix
//!   (`engine/` by default) **and** its description has a line `Engine-Run: <run id>`, the line
//!   `builtin:merge` always appends to the PRs it opens.
//! - **Feedback** is every review comment (a comment on a line of the diff, replies included)
//!   and the body of every review that asks for changes or comments, except engine's own
//!   replies (they carry [`MARKER`]).
//! - Feedback is **answered** once engine's reply naming it exists on GitHub: a reply in the
//!   comment's thread with `<!-- engine-reply: comment <id> ... -->`, or a PR comment with
//!   `<!-- engine-reply: review <id> ... -->`. GitHub itself is the record, so a reply posted
//!   just before a crash is never posted twice.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::model::{Conversation, PullRequest, can_write};

/// What starts the hidden marker in every reply engine posts.
pub const MARKER: &str = "<!-- engine-reply:";

/// The PR description line that names the run which opened it.
const RUN_LINE: &str = "Engine-Run:";

/// One piece of review feedback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    /// A review comment or a review.
    pub kind: FeedbackKind,
    /// Its id.
    pub id: u64,
    /// Review comments: the first comment of the thread (where the reply goes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<u64>,
    /// Review comments: the file (text only, never a path engine opens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Review comments: the line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Who wrote it.
    pub author: String,
    /// Whether its author has write access to the repository (`OWNER`, `MEMBER`,
    /// `COLLABORATOR`); only such feedback is fixed unless `--any-author`.
    #[serde(default)]
    pub trusted: bool,
    /// What it says (hostile text).
    pub body: String,
}

/// The two kinds of feedback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackKind {
    /// A comment on a line of the diff (answered in its thread).
    Comment,
    /// A review's body (answered with a PR comment).
    Review,
}

impl FeedbackKind {
    /// `comment` or `review`, as in the marker.
    pub fn word(self) -> &'static str {
        match self {
            FeedbackKind::Comment => "comment",
            FeedbackKind::Review => "review",
        }
    }
}

/// The marker engine's reply to `kind` `id` carries (an HTML comment GitHub does not show).
pub fn marker(kind: FeedbackKind, id: u64, run_id: &str) -> String {
    // A run id is a ULID; anything else is kept out of the comment.
    let run: String = run_id.chars().filter(char::is_ascii_alphanumeric).collect();
    format!("{MARKER} {} {id} run {run} -->", kind.word())
}

/// The feedback items a text's markers name as answered.
fn answered_in(text: &str, into: &mut BTreeSet<(FeedbackKind, u64)>) {
    for (at, _) in text.match_indices(MARKER) {
        let rest = &text[at + MARKER.len()..];
        let mut words = rest.split_whitespace();
        let kind = match words.next() {
            Some("comment") => FeedbackKind::Comment,
            Some("review") => FeedbackKind::Review,
            _ => continue,
        };
        if let Some(id) = words.next().and_then(|w| w.parse::<u64>().ok()) {
            into.insert((kind, id));
        }
    }
}

/// Whether `pr` was opened by engine (see the module's documentation).
pub fn is_engine_pr(pr: &PullRequest, branch_prefix: &str) -> bool {
    let prefixed = !branch_prefix.is_empty() && pr.head_ref_name.starts_with(branch_prefix);
    let run_line = pr.body.lines().any(|line| {
        line.trim()
            .strip_prefix(RUN_LINE)
            .is_some_and(|id| !id.trim().is_empty())
    });
    prefixed && run_line
}

/// Every feedback item of `conversation` engine has not answered yet, review comments first
/// (in GitHub's order), then reviews.
pub fn unanswered(conversation: &Conversation) -> Vec<Feedback> {
    let mut answered = BTreeSet::new();
    for c in &conversation.comments {
        answered_in(&c.body, &mut answered);
    }
    for c in &conversation.issue_comments {
        answered_in(&c.body, &mut answered);
    }
    let mut feedback = Vec::new();
    for c in &conversation.comments {
        if c.body.contains(MARKER)
            || c.body.trim().is_empty()
            || answered.contains(&(FeedbackKind::Comment, c.id))
        {
            continue;
        }
        feedback.push(Feedback {
            kind: FeedbackKind::Comment,
            id: c.id,
            thread: Some(c.thread()),
            path: Some(c.path.clone()).filter(|p| !p.is_empty()),
            line: c.line.or(c.original_line),
            author: c.user.login.clone(),
            trusted: can_write(&c.author_association),
            body: c.body.clone(),
        });
    }
    for r in &conversation.reviews {
        let body = r.body.as_deref().unwrap_or_default();
        let asks = matches!(r.state.as_str(), "CHANGES_REQUESTED" | "COMMENTED");
        if !asks
            || body.trim().is_empty()
            || body.contains(MARKER)
            || answered.contains(&(FeedbackKind::Review, r.id))
        {
            continue;
        }
        feedback.push(Feedback {
            kind: FeedbackKind::Review,
            id: r.id,
            thread: None,
            path: None,
            line: None,
            author: r.user.login.clone(),
            trusted: can_write(&r.author_association),
            body: body.to_string(),
        });
    }
    feedback
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reviews::model::{IssueComment, Review, ReviewComment, User};

    fn pr(head: &str, body: &str) -> PullRequest {
        PullRequest {
            number: 1,
            title: String::new(),
            body: body.into(),
            url: String::new(),
            head_ref_name: head.into(),
            head_ref_oid: String::new(),
            base_ref_name: "main".into(),
            is_cross_repository: false,
            state: None,
        }
    }

    fn comment(id: u64, reply_to: Option<u64>, body: &str) -> ReviewComment {
        ReviewComment {
            id,
            in_reply_to_id: reply_to,
            path: "src/a.rs".into(),
            line: Some(3),
            original_line: None,
            body: body.into(),
            user: User {
                login: "alice".into(),
            },
            author_association: "MEMBER".into(),
        }
    }

    #[test]
    fn an_engine_pr_needs_both_the_branch_prefix_and_the_run_line() {
        let body = "Adds x\n\nEngine-Run: 01JABC";
        assert!(is_engine_pr(&pr("engine/t1-x", body), "engine/"));
        assert!(!is_engine_pr(&pr("feature/x", body), "engine/"));
        assert!(!is_engine_pr(&pr("engine/t1-x", "Adds x"), "engine/"));
        assert!(!is_engine_pr(
            &pr("engine/t1-x", "Engine-Run:   "),
            "engine/"
        ));
        assert!(is_engine_pr(&pr("bot/t1-x", body), "bot/"));
        assert!(!is_engine_pr(&pr("engine/t1-x", body), ""));
    }

    #[test]
    fn feedback_is_unanswered_until_a_reply_names_it() {
        let mut conv = Conversation {
            comments: vec![
                comment(10, None, "rename this"),
                comment(11, Some(10), "and add a test"),
                comment(20, None, "   "),
            ],
            reviews: vec![
                Review {
                    id: 30,
                    state: "CHANGES_REQUESTED".into(),
                    body: Some("needs docs".into()),
                    user: User::default(),
                    author_association: String::new(),
                },
                Review {
                    id: 31,
                    state: "APPROVED".into(),
                    body: Some("nice".into()),
                    user: User::default(),
                    author_association: String::new(),
                },
                Review {
                    id: 32,
                    state: "COMMENTED".into(),
                    body: None,
                    user: User::default(),
                    author_association: String::new(),
                },
            ],
            issue_comments: Vec::new(),
        };
        let ids: Vec<u64> = unanswered(&conv).iter().map(|f| f.id).collect();
        assert_eq!(ids, vec![10, 11, 30]);
        assert_eq!(unanswered(&conv)[1].thread, Some(10));
        let trusted: Vec<bool> = unanswered(&conv).iter().map(|f| f.trusted).collect();
        assert_eq!(
            trusted,
            vec![true, true, false],
            "a review by no known member is not"
        );

        conv.comments.push(comment(
            12,
            Some(10),
            &format!("done\n{}", marker(FeedbackKind::Comment, 10, "R1")),
        ));
        conv.issue_comments.push(IssueComment {
            id: 40,
            body: marker(FeedbackKind::Review, 30, "R1"),
        });
        let ids: Vec<u64> = unanswered(&conv).iter().map(|f| f.id).collect();
        assert_eq!(ids, vec![11], "engine's own reply is not feedback either");
    }

    #[test]
    fn a_marker_naming_a_review_does_not_answer_a_comment_with_the_same_id() {
        let conv = Conversation {
            comments: vec![comment(5, None, "fix")],
            reviews: Vec::new(),
            issue_comments: vec![IssueComment {
                id: 1,
                body: marker(FeedbackKind::Review, 5, "R"),
            }],
        };
        assert_eq!(unanswered(&conv).len(), 1);
    }

    #[test]
    fn the_marker_keeps_only_what_a_run_id_is_made_of() {
        assert_eq!(
            marker(FeedbackKind::Comment, 7, "01J --> <b>"),
            "<!-- engine-reply: comment 7 run 01Jb -->"
        );
    }
}
