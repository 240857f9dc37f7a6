//! What `gh` says about pull requests, review comments, reviews and PR comments, as engine reads
//! it (only the fields it uses; everything else GitHub sends is ignored).

use serde::{Deserialize, Serialize};

/// A pull request (`gh pr list/view --json` with [`PR_FIELDS`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PullRequest {
    /// Its number.
    pub number: u64,
    /// Its title (hostile text).
    #[serde(default)]
    pub title: String,
    /// Its description (hostile text).
    #[serde(default)]
    pub body: String,
    /// Its web address.
    #[serde(default)]
    pub url: String,
    /// The branch it proposes (in the head repository).
    pub head_ref_name: String,
    /// The commit at the tip of that branch.
    #[serde(default)]
    pub head_ref_oid: String,
    /// The branch it would merge into.
    #[serde(default)]
    pub base_ref_name: String,
    /// Whether its head branch lives in another repository (a fork).
    #[serde(default)]
    pub is_cross_repository: bool,
    /// `OPEN`, `CLOSED` or `MERGED` (only `gh pr view` says; `gh pr list --state open` lists
    /// open ones).
    #[serde(default)]
    pub state: Option<String>,
}

/// The `--json` fields asked of `gh pr list` and `gh pr view`.
pub const PR_FIELDS: &str =
    "number,title,body,url,headRefName,headRefOid,baseRefName,isCrossRepository";

/// Who wrote something on GitHub.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct User {
    /// The login.
    #[serde(default)]
    pub login: String,
}

/// A review comment: a comment on a line of the PR's diff (`pulls/N/comments`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ReviewComment {
    /// Its id.
    pub id: u64,
    /// The first comment of its thread, when it is a reply.
    #[serde(default)]
    pub in_reply_to_id: Option<u64>,
    /// The file it is on (hostile text: never used as a path).
    #[serde(default)]
    pub path: String,
    /// The line of the file it is on (`None` when the line is outdated).
    #[serde(default)]
    pub line: Option<u64>,
    /// The line it was written on.
    #[serde(default)]
    pub original_line: Option<u64>,
    /// The text (hostile).
    #[serde(default)]
    pub body: String,
    /// Its author.
    #[serde(default)]
    pub user: User,
    /// The author's standing in the repository (`OWNER`, `MEMBER`, `COLLABORATOR`,
    /// `CONTRIBUTOR`, `NONE`...).
    #[serde(default)]
    pub author_association: String,
}

impl ReviewComment {
    /// The first comment of its thread (replies are posted to it).
    pub fn thread(&self) -> u64 {
        self.in_reply_to_id.unwrap_or(self.id)
    }
}

/// A review (`pulls/N/reviews`): its body is feedback when it asks for changes or comments.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Review {
    /// Its id.
    pub id: u64,
    /// `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`, `DISMISSED` or `PENDING`.
    #[serde(default)]
    pub state: String,
    /// Its text (hostile; may be empty).
    #[serde(default)]
    pub body: Option<String>,
    /// Its author.
    #[serde(default)]
    pub user: User,
    /// The author's standing in the repository (`OWNER`, `MEMBER`, `COLLABORATOR`,
    /// `CONTRIBUTOR`, `NONE`...).
    #[serde(default)]
    pub author_association: String,
}

/// A comment on the PR's conversation (`issues/N/comments`): where engine answers reviews.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct IssueComment {
    /// Its id.
    pub id: u64,
    /// Its text.
    #[serde(default)]
    pub body: String,
}

/// Whether an author association means write access to the repository.
pub fn can_write(association: &str) -> bool {
    matches!(association, "OWNER" | "MEMBER" | "COLLABORATOR")
}

/// Everything said on one pull request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conversation {
    /// Review comments, in GitHub's order.
    pub comments: Vec<ReviewComment>,
    /// Reviews.
    pub reviews: Vec<Review>,
    /// Conversation comments.
    pub issue_comments: Vec<IssueComment>,
}

/// The items of every page `gh api --paginate` printed: one JSON array per page, printed one
/// after another (older gh) or already joined (newer gh).
pub fn parse_pages<T: serde::de::DeserializeOwned>(text: &str) -> Result<Vec<T>, String> {
    let mut items = Vec::new();
    for page in serde_json::Deserializer::from_str(text).into_iter::<Vec<T>>() {
        items.extend(page.map_err(|e| e.to_string())?);
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_printed_one_after_another_are_joined() {
        let text = r#"[{"id":1,"body":"a"}]
[{"id":2,"body":"b"},{"id":3}]"#;
        let items: Vec<IssueComment> = parse_pages(text).unwrap();
        assert_eq!(
            items.iter().map(|c| c.id).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert!(parse_pages::<IssueComment>("").unwrap().is_empty());
        assert!(parse_pages::<IssueComment>("{\"id\":1}").is_err());
    }

    #[test]
    fn a_reply_belongs_to_the_thread_of_its_first_comment() {
        let c: ReviewComment =
            serde_json::from_str(r#"{"id":9,"in_reply_to_id":4,"body":"x"}"#).unwrap();
        assert_eq!(c.thread(), 4);
        let c: ReviewComment = serde_json::from_str(r#"{"id":4,"body":"x"}"#).unwrap();
        assert_eq!(c.thread(), 4);
    }
}
