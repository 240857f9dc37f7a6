//! One attempt of the review, over any [`ReviewHost`]: resolve the personas, read the change,
//! run every persona (in parallel), ask again once for an unreadable verdict, then decide. A
//! persona whose session cannot run at all (no quota left, not logged in, a CLI that refuses
//! its configuration) fails the attempt fatally at once: retrying would end the same way.

use serde_json::json;

use engine_stage_sdk::agent::Outcome as SessionOutcome;
use engine_stage_sdk::{StageError, Success};

use crate::aggregate::{Outcome, PersonaOutcome, decide, tally};
use crate::checks::{Blocker, Checklists, blocked};
use crate::config::{EmptyDiff, ReviewConfig};
use crate::diff::{self, ReviewDiff};
use crate::host::{LogLevel, ReviewHost};
use crate::personas::{self, Persona};
use crate::prompt::{ReviewInput, TaskText, reask_prompt, review_prompt};
use crate::report::{PersonaReport, Review};
use crate::sessions::{
    Reply, SessionEnd, SessionSettings, reply, resume_request, review_request, run_all,
};

/// What the attempt knows about the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFacts {
    /// The task.
    pub task: TaskText,
    /// The run's base commit (`ctx.git.base_commit`).
    pub base_commit: String,
    /// The constitution's rules and the story's criteria every reviewer checks.
    pub checklists: crate::checks::Checklists,
}

/// Runs one review attempt.
pub fn run<H: ReviewHost>(
    host: &mut H,
    config: &ReviewConfig,
    facts: &RunFacts,
) -> Result<Success, StageError> {
    config
        .validate()
        .map_err(|e| StageError::fatal(format!("invalid review config: {e}")))?;
    let personas = personas::resolve(config, host)
        .map_err(|e| StageError::fatal(format!("invalid review config: {e}")))?;
    let diff = read_diff(host, &facts.base_commit, config.max_diff_bytes)?;
    if diff.is_empty() {
        return empty_diff(config, &facts.base_commit);
    }
    if let Some(note) = diff.truncation_note() {
        host.log(LogLevel::Warn, &format!("review: {note}"));
    }
    let names: Vec<&str> = personas.iter().map(|p| p.name.as_str()).collect();
    host.progress(&format!(
        "{} reading the diff ({} file{} changed)",
        names.join(", "),
        diff.files.len(),
        if diff.files.len() == 1 { "" } else { "s" }
    ));
    let input = ReviewInput {
        task: facts.task.clone(),
        base_commit: facts.base_commit.clone(),
        diff: diff.clone(),
        instructions: config.instructions.clone(),
        checklists: facts.checklists.clone(),
    };
    let reports = review_all(host, config, &personas, &input)?;
    conclude(config, reports, &diff, &facts.checklists)
}

/// `git diff base...HEAD`: stat, file names and patch, fitted to `max_bytes`.
fn read_diff<H: ReviewHost>(
    host: &mut H,
    base: &str,
    max_bytes: u64,
) -> Result<ReviewDiff, StageError> {
    let mut git = |args: Vec<String>| -> Result<crate::host::GitOutput, StageError> {
        let out = host.git(&args).map_err(|e| {
            StageError::fatal(format!(
                "cannot run git to read the change: {e} (grant it: permissions.exec: [git])"
            ))
        })?;
        if out.code != Some(0) {
            return Err(StageError::fatal(format!(
                "`git {}` failed ({}): {}",
                args.join(" "),
                out.code
                    .map_or("killed".to_string(), |c| format!("exit {c}")),
                out.stderr.trim()
            )));
        }
        Ok(out)
    };
    let stat = git(diff::stat_args(base))?;
    let names = git(diff::name_args(base))?;
    let patch = git(diff::patch_args(base))?;
    let max = usize::try_from(max_bytes).unwrap_or(usize::MAX);
    Ok(diff::fit(
        &stat.stdout,
        &names.stdout,
        &patch.stdout,
        patch.stdout_bytes,
        max,
    ))
}

fn empty_diff(config: &ReviewConfig, base: &str) -> Result<Success, StageError> {
    let message = format!(
        "nothing to review: the run's branch has no changes against its base commit {base}"
    );
    match config.on_empty_diff {
        EmptyDiff::Fail => Err(StageError::fatal(message).with_detail(json!({
            "empty_diff": true,
            "text": "The run's branch has no changes against its base: there is nothing to review. Make the change the task asks for.",
        }))),
        EmptyDiff::Approve => Ok(Success::new(format!("{message} (on_empty_diff: approve)"))
            .output("verdicts", json!([]))
            .output("findings", json!([]))
            .output("approvals", 0)
            .output("summary", message)
            .output("empty_diff", true)),
    }
}

/// Runs every persona, asks once more those whose reply held no readable verdict, and returns
/// each persona's report in config order; the fatal failure of a persona that cannot run (see
/// [`cannot_run`]).
fn review_all<H: ReviewHost>(
    host: &mut H,
    config: &ReviewConfig,
    personas: &[Persona],
    input: &ReviewInput,
) -> Result<Vec<PersonaReport>, StageError> {
    let settings = SessionSettings {
        max_turns: config.max_turns,
        budget_usd: config.budget_usd,
    };
    let parallel = config.parallelism(personas.len());
    let requests: Vec<_> = personas
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                review_request(p, &settings, review_prompt(p, input)),
            )
        })
        .collect();
    let ends = run_all(host, &requests, parallel);
    if let Some(error) = personas
        .iter()
        .zip(&ends)
        .find_map(|(p, e)| cannot_run(p, e))
    {
        host.log(LogLevel::Warn, &format!("review: {}", error.message));
        return Err(error);
    }
    let mut reports: Vec<PersonaReport> = personas
        .iter()
        .map(|p| PersonaReport {
            name: p.name.clone(),
            backend: p.backend.clone(),
            model: p.model.clone(),
            outcome: PersonaOutcome::Missing(String::new()),
            reasked: false,
            cost_usd: None,
        })
        .collect();

    // Indexes of personas to ask again, with their session ids and the first error.
    let mut reask = Vec::new();
    for (i, end) in ends.iter().enumerate() {
        reports[i].cost_usd = end.cost_usd();
        match reply(end) {
            Reply::Verdict(verdict) => reports[i].outcome = PersonaOutcome::Verdict(verdict),
            Reply::NoReply(why) => reports[i].outcome = PersonaOutcome::Missing(why),
            Reply::Unreadable {
                error,
                session_id: Some(id),
            } => reask.push((i, id, error.to_string())),
            Reply::Unreadable {
                error,
                session_id: None,
            } => {
                reports[i].outcome = PersonaOutcome::Missing(format!(
                    "its reply could not be read ({error}) and its session cannot be resumed"
                ));
            }
        }
        log_outcome(host, &reports[i]);
        warn_unchecked(host, &reports[i], &input.checklists);
    }
    if !reask.is_empty() {
        let requests: Vec<_> = reask
            .iter()
            .map(|(i, id, why)| {
                let persona = &personas[*i];
                host.log(
                    LogLevel::Warn,
                    &format!(
                        "review: {}'s reply held no readable verdict ({why}); asking again",
                        persona.name
                    ),
                );
                (
                    persona.name.clone(),
                    resume_request(persona, &settings, id, reask_prompt(&persona.name, why)),
                )
            })
            .collect();
        let ends = run_all(host, &requests, parallel);
        let asked_again = reask.iter().map(|(i, _, _)| &personas[*i]);
        if let Some(error) = asked_again.zip(&ends).find_map(|(p, e)| cannot_run(p, e)) {
            host.log(LogLevel::Warn, &format!("review: {}", error.message));
            return Err(error);
        }
        for ((i, _, first_why), end) in reask.iter().zip(&ends) {
            let report = &mut reports[*i];
            report.reasked = true;
            report.cost_usd = sum_cost(report.cost_usd, end.cost_usd());
            report.outcome = match reply(end) {
                Reply::Verdict(verdict) => PersonaOutcome::Verdict(verdict),
                Reply::Unreadable { error, .. } => PersonaOutcome::Missing(format!(
                    "its reply could not be read as a verdict, even when asked again ({first_why}; then: {error})"
                )),
                Reply::NoReply(why) => PersonaOutcome::Missing(format!(
                    "its reply could not be read ({first_why}) and asking again failed: {why}"
                )),
            };
            log_outcome(host, report);
            warn_unchecked(host, report, &input.checklists);
        }
    }
    Ok(reports)
}

/// The fatal failure of a persona whose session cannot run at all, whatever the retries: its
/// account has no quota left, its CLI is not logged in, or its CLI refused its configuration.
/// Counting it as a missing verdict would fail the attempt retryably, and every retry would
/// end the same way.
fn cannot_run(persona: &Persona, end: &SessionEnd) -> Option<StageError> {
    let SessionEnd::Ended { summary, .. } = end else {
        return None;
    };
    let (name, backend) = (&persona.name, &persona.backend);
    let why = summary.detail.trim();
    let (flag, message) = match summary.outcome {
        SessionOutcome::QuotaExhausted => (
            "quota_exhausted",
            format!(
                "review persona `{name}`: the `{backend}` agent's account has no quota left \
                 ({why}): add credits or raise the spending limit at the provider, then run the \
                 task again"
            ),
        ),
        SessionOutcome::AuthFailed => (
            "auth_failed",
            format!(
                "review persona `{name}`: the `{backend}` agent is not logged in ({why}): log \
                 the CLI in on the host or pass its API key, then run the task again"
            ),
        ),
        SessionOutcome::Misconfigured => (
            "misconfigured",
            format!(
                "review persona `{name}`: the `{backend}` agent did not run ({why}): fix its \
                 configuration, then run the task again"
            ),
        ),
        _ => return None,
    };
    Some(StageError::fatal(message).with_detail(json!({
        flag: true,
        "persona": name,
        "backend": backend,
        "outcome": summary.outcome.as_str(),
        "detail": summary.detail,
    })))
}

fn sum_cost(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
    }
}

/// Warns when a persona's verdict left out the checks it was asked for.
fn warn_unchecked<H: ReviewHost>(host: &mut H, report: &PersonaReport, checklists: &Checklists) {
    if let PersonaOutcome::Verdict(v) = &report.outcome
        && let Some(message) = checklists.unchecked(&report.name, v)
    {
        host.log(LogLevel::Warn, &message);
    }
}

fn log_outcome<H: ReviewHost>(host: &mut H, report: &PersonaReport) {
    match &report.outcome {
        PersonaOutcome::Verdict(v) => {
            let findings = match v.findings.len() {
                0 => "no findings".to_string(),
                1 => "1 finding".to_string(),
                n => format!("{n} findings"),
            };
            // Progress lines also go to the attempt log: one line is enough.
            host.progress(&format!(
                "{} says {} ({findings})",
                report.name,
                v.verdict.as_str().replace('_', " ")
            ));
        }
        PersonaOutcome::Missing(why) if !why.is_empty() => {
            host.log(
                LogLevel::Warn,
                &format!("review: no verdict from {}: {why}", report.name),
            );
        }
        PersonaOutcome::Missing(_) => {}
    }
}

/// Aggregates the reports into the attempt's result. A broken constitution rule or an unmet
/// acceptance criterion reported by any reviewer rejects the change.
pub fn conclude(
    config: &ReviewConfig,
    reports: Vec<PersonaReport>,
    diff: &ReviewDiff,
    checklists: &Checklists,
) -> Result<Success, StageError> {
    let block_on = config.blocking_severities();
    let outcomes: Vec<PersonaOutcome> = reports.iter().map(|r| r.outcome.clone()).collect();
    let counts = tally(&outcomes, config.require, block_on.as_deref());
    let review = Review {
        personas: reports,
        require: config.require,
        block_on,
        tally: counts,
    };
    let blockers: Vec<Blocker> = review
        .personas
        .iter()
        .flat_map(|p| match &p.outcome {
            PersonaOutcome::Verdict(v) => checklists.blockers(
                &p.name,
                v.constitution.as_deref().unwrap_or_default(),
                v.criteria.as_deref().unwrap_or_default(),
            ),
            PersonaOutcome::Missing(_) => Vec::new(),
        })
        .collect();
    if !blockers.is_empty() {
        return Err(blocked(&review, &blockers));
    }
    match decide(&counts) {
        Outcome::Approved => {
            let cost: Option<f64> = review
                .personas
                .iter()
                .fold(None, |total, p| sum_cost(total, p.cost_usd));
            let summary = review.approval_summary();
            Ok(Success::new(summary.clone())
                .output("verdicts", review.verdicts_json())
                .output("findings", review.findings_json())
                .output("approvals", counts.approvals)
                .output("summary", summary)
                .output("text", review.text())
                .output("cost_usd", json!(cost))
                .output("diff_truncated", diff.truncation.is_some()))
        }
        Outcome::Rejected => {
            Err(StageError::fatal(review.rejection_message()).with_detail(review.detail()))
        }
        Outcome::Incomplete => {
            Err(StageError::retryable(review.incomplete_message()).with_detail(review.detail()))
        }
    }
}

#[cfg(test)]
#[path = "tests/review_tests.rs"]
mod tests;
