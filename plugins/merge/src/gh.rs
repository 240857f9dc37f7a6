//! Pure parsing of `gh`'s JSON outputs.

use serde::Deserialize;
use serde_json::Value;

use crate::runner::Output;

/// What `gh pr view --json number,url,state,mergeCommit[,mergeable]` says about a PR.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrView {
    /// The PR's number.
    #[serde(default)]
    pub number: u64,
    /// Its URL.
    #[serde(default)]
    pub url: String,
    /// `OPEN`, `CLOSED` or `MERGED`.
    #[serde(default)]
    pub state: String,
    /// The merge commit once merged.
    #[serde(default)]
    pub merge_commit: Option<MergeCommit>,
    /// `MERGEABLE`, `CONFLICTING` or `UNKNOWN`, when asked for.
    #[serde(default)]
    pub mergeable: Option<String>,
}

/// `mergeCommit: { oid }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MergeCommit {
    /// The commit id.
    #[serde(default)]
    pub oid: String,
}

impl PrView {
    /// True when gh says the PR is merged.
    pub fn is_merged(&self) -> bool {
        self.state.eq_ignore_ascii_case("MERGED")
    }

    /// True when gh says the PR is closed without being merged.
    pub fn is_closed(&self) -> bool {
        self.state.eq_ignore_ascii_case("CLOSED")
    }

    /// The merge commit's id, if gh gave one.
    pub fn merge_sha(&self) -> Option<String> {
        self.merge_commit
            .as_ref()
            .map(|c| c.oid.clone())
            .filter(|oid| !oid.is_empty())
    }
}

/// Parses `gh pr view`: `None` when gh exited non-zero (no PR for that branch).
pub fn parse_view(out: &Output) -> Result<Option<PrView>, String> {
    if !out.success() {
        return Ok(None);
    }
    serde_json::from_str(out.stdout.trim())
        .map(Some)
        .map_err(|e| format!("cannot read gh pr view's output: {e}"))
}

/// The PR number at the end of a PR URL (`https://github.com/o/r/pull/12`).
pub fn number_from_url(text: &str) -> Option<u64> {
    let url = text
        .lines()
        .map(str::trim)
        .rfind(|l| l.contains("/pull/"))?;
    url.rsplit('/').next()?.parse().ok()
}

/// Where the checks of a PR stand.
#[derive(Debug, Clone, PartialEq)]
pub enum Checks {
    /// Every check passed or was skipped.
    Passed(Vec<Value>),
    /// These checks failed or were cancelled.
    Failed {
        /// Names of the failed checks.
        names: Vec<String>,
        /// Every check as gh reported it.
        checks: Vec<Value>,
    },
    /// These checks are still running.
    Pending(Vec<String>),
    /// gh reports no checks at all (yet).
    None,
}

#[derive(Debug, Deserialize)]
struct Check {
    #[serde(default)]
    name: String,
    #[serde(default)]
    bucket: String,
}

/// Reads `gh pr checks --json name,state,bucket` (gh exits non-zero while checks are pending
/// or failed, so the exit code is ignored when the JSON is there).
pub fn parse_checks(out: &Output) -> Result<Checks, String> {
    let trimmed = out.stdout.trim();
    let Ok(values) = serde_json::from_str::<Vec<Value>>(trimmed) else {
        if out
            .stderr
            .to_ascii_lowercase()
            .contains("no checks reported")
        {
            return Ok(Checks::None);
        }
        return Err(format!(
            "gh pr checks failed ({}): {}",
            out.status_text(),
            out.stderr.trim()
        ));
    };
    if values.is_empty() {
        return Ok(Checks::None);
    }
    let mut failed = Vec::new();
    let mut pending = Vec::new();
    for value in &values {
        let check: Check = serde_json::from_value(value.clone())
            .map_err(|e| format!("cannot read a check from gh: {e}"))?;
        match check.bucket.as_str() {
            "pass" | "skipping" => {}
            "fail" | "cancel" => failed.push(check.name),
            _ => pending.push(check.name),
        }
    }
    if !failed.is_empty() {
        return Ok(Checks::Failed {
            names: failed,
            checks: values,
        });
    }
    if !pending.is_empty() {
        return Ok(Checks::Pending(pending));
    }
    Ok(Checks::Passed(values))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(code: i32, stdout: &str, stderr: &str) -> Output {
        Output {
            code: Some(code),
            stdout: stdout.to_string(),
            stderr: stderr.to_string(),
        }
    }

    #[test]
    fn view_parses_states_and_merge_commit() {
        let v = parse_view(&out(
            0,
            r#"{"number":12,"url":"https://x/pull/12","state":"MERGED","mergeCommit":{"oid":"abc"}}"#,
            "",
        ))
        .unwrap()
        .unwrap();
        assert!(v.is_merged());
        assert_eq!(v.merge_sha().as_deref(), Some("abc"));
        let v = parse_view(&out(
            0,
            r#"{"number":3,"state":"OPEN","mergeCommit":null}"#,
            "",
        ))
        .unwrap()
        .unwrap();
        assert!(!v.is_merged() && !v.is_closed());
        assert_eq!(v.merge_sha(), None);
        assert_eq!(
            parse_view(&out(1, "", "no pull requests found")).unwrap(),
            None
        );
        assert!(parse_view(&out(0, "not json", "")).is_err());
    }

    #[test]
    fn number_comes_from_the_last_url_line() {
        assert_eq!(
            number_from_url("Creating...\nhttps://github.com/o/r/pull/42\n"),
            Some(42)
        );
        assert_eq!(number_from_url("nothing"), None);
    }

    #[test]
    fn checks_pass_fail_pend_or_are_absent() {
        let pass = r#"[{"name":"ci","state":"SUCCESS","bucket":"pass"},{"name":"lint","state":"SKIPPED","bucket":"skipping"}]"#;
        assert!(matches!(parse_checks(&out(0, pass, "")), Ok(Checks::Passed(v)) if v.len() == 2));
        let fail = r#"[{"name":"ci","bucket":"fail"},{"name":"e2e","bucket":"pending"},{"name":"x","bucket":"cancel"}]"#;
        match parse_checks(&out(1, fail, "")).unwrap() {
            Checks::Failed { names, checks } => {
                assert_eq!(names, ["ci", "x"]);
                assert_eq!(checks.len(), 3);
            }
            other => panic!("{other:?}"),
        }
        let pending = r#"[{"name":"ci","bucket":"pass"},{"name":"e2e","bucket":"pending"}]"#;
        assert_eq!(
            parse_checks(&out(8, pending, "")).unwrap(),
            Checks::Pending(vec!["e2e".into()])
        );
        assert_eq!(parse_checks(&out(0, "[]", "")).unwrap(), Checks::None);
        assert_eq!(
            parse_checks(&out(1, "", "no checks reported on the 'b' branch")).unwrap(),
            Checks::None
        );
        assert!(
            parse_checks(&out(1, "", "HTTP 502"))
                .unwrap_err()
                .contains("HTTP 502")
        );
    }
}
