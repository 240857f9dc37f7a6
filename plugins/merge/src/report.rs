//! The stage's outputs and summary line.

use engine_stage_sdk::Success;
use serde_json::{Value, json};
use std::fmt::Write as _;

use crate::config::{Mode, Strategy};
use crate::plumbing::short;

/// What a successful merge did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Local or PR.
    pub mode: Mode,
    /// The strategy.
    pub strategy: Strategy,
    /// The run's branch.
    pub branch: String,
    /// The base branch.
    pub base_branch: String,
    /// The base's commit before the merge (local mode).
    pub previous_base: Option<String>,
    /// The commit the base now has because of this run.
    pub merged_sha: Option<String>,
    /// True when this attempt (or an earlier, interrupted one) merged something.
    pub merged: bool,
    /// True when an earlier attempt had already merged and this one only confirmed it.
    pub reconciled: bool,
    /// Commits created on the base, oldest first (rebase), or brought in (ff-only).
    pub commits: Vec<String>,
    /// Local mode: the base was pushed (or the remote already had it). PR mode: the branch
    /// was pushed.
    pub pushed: bool,
    /// `Some(true)` when checkouts of the base were brought to the new commit, `Some(false)`
    /// when one could not be (see warnings), `None` when the base is not checked out.
    pub checkout_synced: Option<bool>,
    /// Things the user should know.
    pub warnings: Vec<String>,
    /// PR mode: the PR's number.
    pub pr_number: Option<u64>,
    /// PR mode: the PR's URL.
    pub pr_url: Option<String>,
    /// PR mode: the checks seen passing.
    pub checks: Vec<Value>,
}

impl Report {
    /// An empty report: nothing merged yet.
    pub fn new(mode: Mode, strategy: Strategy, branch: &str, base_branch: &str) -> Self {
        Report {
            mode,
            strategy,
            branch: branch.to_string(),
            base_branch: base_branch.to_string(),
            previous_base: None,
            merged_sha: None,
            merged: false,
            reconciled: false,
            commits: Vec::new(),
            pushed: false,
            checkout_synced: None,
            warnings: Vec::new(),
            pr_number: None,
            pr_url: None,
            checks: Vec::new(),
        }
    }

    /// The one-line summary.
    pub fn summary(&self) -> String {
        let (branch, base) = (&self.branch, &self.base_branch);
        let sha = self.merged_sha.as_deref().map_or("?", short);
        if !self.merged {
            return format!("nothing to merge: {branch} has no changes against {base}");
        }
        let what = match (self.mode, self.pr_number) {
            (Mode::Pr, Some(number)) => {
                format!("merged PR #{number} ({branch} into {base}) as {sha}")
            }
            _ => match self.strategy {
                Strategy::Squash => format!("squash-merged {branch} into {base} as {sha}"),
                Strategy::Merge => format!("merged {branch} into {base} as {sha}"),
                Strategy::Rebase => format!(
                    "rebased {branch} onto {base} ({} commit{}), {base} at {sha}",
                    self.commits.len(),
                    if self.commits.len() == 1 { "" } else { "s" }
                ),
                Strategy::FfOnly => format!("fast-forwarded {base} to {branch} at {sha}"),
            },
        };
        let mut summary = what;
        if self.reconciled {
            summary.push_str(" (already done by an earlier attempt)");
        }
        if self.mode == Mode::Local && self.pushed {
            summary.push_str(", pushed");
        }
        match self.warnings.as_slice() {
            [] => {}
            [only] => {
                let _ = write!(summary, "; warning: {only}");
            }
            [first, rest @ ..] => {
                let _ = write!(
                    summary,
                    "; warning: {first} (and {} more in the stage's outputs and log)",
                    rest.len()
                );
            }
        }
        summary
    }

    /// The outputs as later stages see them.
    pub fn outputs(&self) -> Value {
        let mut outputs = json!({
            "mode": match self.mode { Mode::Local => "local", Mode::Pr => "pr" },
            "strategy": self.strategy.name(),
            "branch": self.branch,
            "base_branch": self.base_branch,
            "previous_base": self.previous_base,
            "merged_sha": self.merged_sha,
            "merged": self.merged,
            "reconciled": self.reconciled,
            "commits": self.commits,
            "pushed": self.pushed,
            "checkout_synced": self.checkout_synced,
            "warnings": self.warnings,
        });
        if self.mode == Mode::Pr
            && let Value::Object(map) = &mut outputs
        {
            map.insert("pr_number".into(), json!(self.pr_number));
            map.insert("pr_url".into(), json!(self.pr_url));
            map.insert("checks".into(), Value::Array(self.checks.clone()));
        }
        outputs
    }

    /// The stage's success.
    pub fn into_success(self) -> Success {
        let mut success = Success::new(self.summary());
        if let Value::Object(map) = self.outputs() {
            success.outputs = map;
        }
        success
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_name_strategy_branch_base_and_short_sha() {
        let mut r = Report::new(Mode::Local, Strategy::Squash, "engine/t1-x", "main");
        assert_eq!(
            r.summary(),
            "nothing to merge: engine/t1-x has no changes against main"
        );
        r.merged = true;
        r.merged_sha = Some("abc1234def".into());
        assert_eq!(
            r.summary(),
            "squash-merged engine/t1-x into main as abc1234"
        );
        r.strategy = Strategy::Rebase;
        r.commits = vec!["a".into(), "b".into()];
        assert_eq!(
            r.summary(),
            "rebased engine/t1-x onto main (2 commits), main at abc1234"
        );
        r.reconciled = true;
        r.pushed = true;
        assert!(
            r.summary()
                .ends_with("(already done by an earlier attempt), pushed")
        );
    }

    #[test]
    fn the_summary_says_what_the_warning_is_not_just_how_many() {
        let mut r = Report::new(Mode::Local, Strategy::Squash, "engine/t1-x", "main");
        r.merged = true;
        r.merged_sha = Some("abc1234def".into());
        r.warnings = vec!["kept a.txt".into()];
        assert_eq!(
            r.summary(),
            "squash-merged engine/t1-x into main as abc1234; warning: kept a.txt"
        );
        r.warnings.push("second".into());
        assert!(
            r.summary()
                .ends_with("; warning: kept a.txt (and 1 more in the stage's outputs and log)"),
            "{}",
            r.summary()
        );
    }

    #[test]
    fn outputs_have_every_key_and_pr_keys_only_in_pr_mode() {
        let r = Report::new(Mode::Local, Strategy::FfOnly, "b", "main");
        let o = r.outputs();
        for key in [
            "strategy",
            "base_branch",
            "previous_base",
            "merged_sha",
            "merged",
            "reconciled",
            "commits",
            "pushed",
            "checkout_synced",
            "warnings",
        ] {
            assert!(o.get(key).is_some(), "{key}");
        }
        assert_eq!(o["strategy"], "ff-only");
        assert!(o.get("pr_number").is_none());
        let mut r = Report::new(Mode::Pr, Strategy::Squash, "b", "main");
        r.pr_number = Some(7);
        r.merged = true;
        r.merged_sha = Some("1234567890".into());
        assert_eq!(r.outputs()["pr_number"], 7);
        assert_eq!(r.summary(), "merged PR #7 (b into main) as 1234567");
    }
}
