//! GitHub issues as `gh issue list/view --json` prints them, and as engine tasks.

use engine_source_sdk::{Diagnostic, Location, SourceError, Task, TaskStatus};
use serde::Deserialize;

use crate::config::Config;
use crate::refs::{self, Ref};

/// The fields asked of `gh issue list` and `gh issue view`.
pub const FIELDS: &str = "number,title,body,labels,state,url,milestone";

/// Marks the comment a claim leaves: `<!-- engine-claim: RUN -->`.
const CLAIM_MARKER: &str = "<!-- engine-claim: ";

/// One issue.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GhIssue {
    /// Its number.
    pub number: u64,
    /// Its title.
    #[serde(default)]
    pub title: String,
    /// Its body (markdown).
    #[serde(default)]
    pub body: Option<String>,
    /// Its labels.
    #[serde(default)]
    pub labels: Option<Vec<Named>>,
    /// `OPEN` or `CLOSED`.
    #[serde(default)]
    pub state: String,
    /// Its web address.
    #[serde(default)]
    pub url: Option<String>,
    /// Its milestone.
    #[serde(default)]
    pub milestone: Option<Titled>,
    /// Its comments (asked for by `claim` only).
    #[serde(default)]
    pub comments: Option<Vec<Comment>>,
}

/// A label.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Named {
    /// Its name.
    #[serde(default)]
    pub name: String,
}

/// A milestone.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Titled {
    /// Its title.
    #[serde(default)]
    pub title: String,
}

/// A comment.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Comment {
    /// Its text.
    #[serde(default)]
    pub body: String,
}

impl GhIssue {
    /// Label names.
    pub fn label_names(&self) -> Vec<String> {
        self.labels
            .iter()
            .flatten()
            .map(|l| l.name.clone())
            .collect()
    }

    /// Whether it carries `label` (any case).
    pub fn has_label(&self, label: &str) -> bool {
        self.labels
            .iter()
            .flatten()
            .any(|l| l.name.eq_ignore_ascii_case(label))
    }

    /// Whether it is closed.
    pub fn is_closed(&self) -> bool {
        self.state.eq_ignore_ascii_case("closed")
    }

    /// `owner/name` from its URL.
    pub fn repo(&self) -> Option<String> {
        let url = self.url.as_deref()?;
        Ref::parse(url).and_then(|r| r.repo)
    }

    /// Who claimed it last (the run named in the latest claim comment).
    pub fn claimed_by(&self) -> Option<String> {
        self.comments.iter().flatten().rev().find_map(|c| {
            let start = c.body.find(CLAIM_MARKER)? + CLAIM_MARKER.len();
            let end = c.body[start..].find(" -->")?;
            Some(c.body[start..start + end].to_string())
        })
    }
}

/// The comment `claim` leaves.
pub fn claim_comment(claimant: &str) -> String {
    format!("engine run `{claimant}` is working on this issue.\n\n{CLAIM_MARKER}{claimant} -->")
}

/// Issues from `gh` output: a list, or one issue.
pub fn parse(stdout: &str, what: &str) -> Result<Vec<GhIssue>, SourceError> {
    let value: serde_json::Value = serde_json::from_str(stdout.trim()).map_err(|e| {
        SourceError::Failed(format!(
            "`{what}` did not print JSON ({e}); its output starts with {:?}",
            stdout.chars().take(80).collect::<String>()
        ))
    })?;
    let items = match value {
        serde_json::Value::Array(items) => items,
        other => vec![other],
    };
    items
        .into_iter()
        .map(|item| {
            serde_json::from_value(item).map_err(|e| {
                SourceError::Failed(format!("`{what}` printed an issue engine cannot read: {e}"))
            })
        })
        .collect()
}

/// An issue as a task; `home` is the repository of the listing (`#N` ids are its issues).
/// Dependency lines naming no issue are reported in `warnings`.
pub fn task(
    issue: &GhIssue,
    home: Option<&str>,
    config: &Config,
    warnings: &mut Vec<Diagnostic>,
) -> Task {
    let own = Ref {
        repo: issue.repo(),
        number: issue.number,
    };
    let id = own.id(home);
    let (status, raw_status) = if issue.is_closed() {
        (TaskStatus::Done, "closed".to_string())
    } else if issue.has_label(&config.blocked_label) {
        (
            TaskStatus::Blocked,
            format!("open, {}", config.blocked_label),
        )
    } else if issue.has_label(&config.in_progress_label) {
        (
            TaskStatus::InProgress,
            format!("open, {}", config.in_progress_label),
        )
    } else {
        (TaskStatus::Todo, "open".to_string())
    };
    let priorities = config.priorities();
    let priority = issue
        .labels
        .iter()
        .flatten()
        .filter_map(|l| priorities.get(&l.name.to_lowercase()).copied())
        .min()
        .unwrap_or_else(|| config.fallback_priority());
    let location = Location {
        file: issue.url.clone().unwrap_or_else(|| id.clone()),
        line: None,
    };
    let body = issue.body.clone().unwrap_or_default();
    let found = refs::dependencies(&body);
    for line in found.empty_lines {
        warnings.push(Diagnostic {
            location: Some(location.clone()),
            message: format!(
                "{id}: line {line} of the body starts with `Depends on`/`Blocked by` but names \
                 no issue (write #12, owner/repo#12 or an issue URL)"
            ),
        });
    }
    let mut depends_on: Vec<String> = Vec::new();
    for r in &found.refs {
        let dep = r.id(home);
        if !depends_on.contains(&dep) {
            depends_on.push(dep);
        }
    }
    Task {
        id,
        title: issue.title.clone(),
        body,
        status,
        raw_status,
        priority,
        labels: issue.label_names(),
        depends_on,
        milestone: issue
            .milestone
            .as_ref()
            .map(|m| m.title.clone())
            .filter(|t| !t.is_empty()),
        estimate: None,
        checklist: Vec::new(),
        traces: Vec::new(),
        location: Some(location),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(json: serde_json::Value) -> GhIssue {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn issues_become_tasks() {
        let mut warnings = Vec::new();
        let gh = issue(serde_json::json!({
            "number": 12, "title": "Add export", "state": "OPEN",
            "url": "https://github.com/octo/app/issues/12",
            "body": "Do it.\n\nDepends on: #3, octo/lib#4\nBlocked by: soon",
            "labels": [{"name": "engine"}, {"name": "Priority:High"}, {"name": "P2"}],
            "milestone": {"title": "v1"}
        }));
        let t = task(&gh, Some("octo/app"), &Config::default(), &mut warnings);
        assert_eq!(t.id, "#12");
        assert_eq!(
            (t.status, t.raw_status.as_str()),
            (TaskStatus::Todo, "open")
        );
        assert_eq!(t.priority, 1);
        assert_eq!(t.labels, ["engine", "Priority:High", "P2"]);
        assert_eq!(t.depends_on, ["#3", "octo/lib#4"]);
        assert_eq!(t.milestone.as_deref(), Some("v1"));
        assert_eq!(
            t.location.map(|l| l.file).as_deref(),
            Some("https://github.com/octo/app/issues/12")
        );
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].message.contains("line 4"), "{warnings:?}");
    }

    #[test]
    fn labels_give_status_and_priority() {
        let config = Config {
            default_priority: None,
            ..Config::default()
        };
        let mut warnings = Vec::new();
        let of = |state: &str, labels: &[&str]| {
            let labels: Vec<serde_json::Value> = labels
                .iter()
                .map(|l| serde_json::json!({ "name": l }))
                .collect();
            issue(serde_json::json!({"number": 1, "state": state, "labels": labels}))
        };
        let t = task(&of("OPEN", &["In-Progress"]), None, &config, &mut warnings);
        assert_eq!((t.status, t.priority), (TaskStatus::InProgress, 3));
        let t = task(
            &of("OPEN", &["blocked", "in-progress", "p0"]),
            None,
            &config,
            &mut warnings,
        );
        assert_eq!(
            (t.status, t.raw_status.as_str(), t.priority),
            (TaskStatus::Blocked, "open, blocked", 0)
        );
        let t = task(&of("CLOSED", &["blocked"]), None, &config, &mut warnings);
        assert_eq!(t.status, TaskStatus::Done);
        let custom = Config {
            priority_labels: Some([("urgent!".to_string(), 0), ("later".to_string(), 9)].into()),
            ..Config::default()
        };
        assert_eq!(custom.fallback_priority(), 9);
        let t = task(&of("OPEN", &["URGENT!"]), None, &custom, &mut warnings);
        assert_eq!(t.priority, 0);
        let fixed = Config {
            default_priority: Some(5),
            ..Config::default()
        };
        assert_eq!(
            task(&of("OPEN", &[]), None, &fixed, &mut warnings).priority,
            5
        );
        assert!(warnings.is_empty());
    }

    #[test]
    fn claim_comments_name_the_claimant() {
        let gh = issue(
            serde_json::json!({"number": 1, "state": "OPEN", "comments": [
                {"body": claim_comment("run-1")}, {"body": "looks good"},
                {"body": claim_comment("run-2")}, {"body": "<!-- engine-claim: broken"}
            ]}),
        );
        assert_eq!(gh.claimed_by().as_deref(), Some("run-2"));
        assert_eq!(issue(serde_json::json!({"number": 1})).claimed_by(), None);
        assert!(parse("[{\"number\": 1}]", "gh").is_ok());
        assert!(parse("{\"number\": 2}", "gh").is_ok());
        assert!(parse("gh: not logged in", "gh").is_err());
    }
}
