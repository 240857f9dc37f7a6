//! One attempt of the stage: check the config, assess the task (skip labels, then the rules or
//! the agent), apply the tier overrides, and turn the result into outputs or a "needs
//! attention" failure.

use engine_stage_sdk::{Context, StageError, Success};
use serde_json::{Value, json};

use crate::agent_mode::{self, SessionTotals};
use crate::assessment::{Assessment, Decision};
use crate::config::{Mode, TriageConfig};
use crate::forcing;
use crate::host::{LogLevel, TriageHost};
use crate::rules::{self, TaskFacts};
use crate::tier::Tier;

/// Summaries longer than this are cut.
const MAX_SUMMARY_CHARS: usize = 200;

/// Runs one attempt against `host`.
pub fn run_triage<H: TriageHost>(
    host: &mut H,
    ctx: &Context<TriageConfig>,
) -> Result<Success, StageError> {
    let config = &ctx.config;
    config
        .validate()
        .map_err(|e| StageError::fatal(e.to_string()).with_detail(json!({ "field": e.field })))?;
    let task = &ctx.task;
    let facts = {
        let exists = |path: &str| host.exists(path);
        let check: Option<&dyn Fn(&str) -> bool> = host
            .workspace_mounted()
            .then_some(&exists as &dyn Fn(&str) -> bool);
        TaskFacts::gather(&task.title, &task.body, check)
    };
    let mut agent: Option<SessionTotals> = None;
    let mut assessment = match rules::skip_label(config, &task.labels) {
        Some(stop) => stop,
        None => match config.mode {
            Mode::Rules => rules::evaluate(config, &task.labels, &facts),
            Mode::Agent => {
                let (assessment, totals) = agent_mode::assess(host, config, task)?;
                agent = Some(totals);
                assessment
            }
        },
    };
    let stalled = forcing::run_stalled(&ctx.outputs);
    forcing::apply(&mut assessment, stalled, config.force_tier);
    if assessment.forced_by.is_some() {
        host.log(LogLevel::Warn, &format!("triage: {}", assessment.reason));
    }
    let mode = config.mode.as_str();
    match assessment.decision {
        Decision::Stop(kind) => {
            host.log(
                LogLevel::Warn,
                &format!("triage stops the run: {}", assessment.reason),
            );
            let mut error = StageError::needs_attention(assessment.reason.clone())
                .with_detail_field("decision", kind.as_str())
                .with_detail_field("mode", mode)
                .with_detail_field("signals", json!(assessment.signals));
            if let Some(totals) = &agent {
                error = error.with_detail_field("agent", totals.to_json());
            }
            Err(error)
        }
        Decision::Run(tier) => {
            let summary = cut(&format!("tier {tier} ({mode}): {}", assessment.reason));
            host.log(LogLevel::Info, &summary);
            Ok(outputs(
                Success::new(summary),
                &assessment,
                mode,
                &facts,
                agent.as_ref(),
            ))
        }
    }
}

fn outputs(
    success: Success,
    assessment: &Assessment,
    mode: &str,
    facts: &TaskFacts,
    agent: Option<&SessionTotals>,
) -> Success {
    let tier = assessment.tier().map(Tier::as_str);
    let suggested = assessment.suggested_tier.map(Tier::as_str).or(tier);
    let success = success
        .output("tier", tier)
        .output("reason", assessment.reason.clone())
        .output("mode", mode)
        .output("signals", json!(assessment.signals))
        .output("decision", assessment.decision.as_str())
        .output("suggested_tier", suggested)
        .output(
            "forced_by",
            assessment
                .forced_by
                .map_or(Value::Null, |f| json!(f.as_str())),
        )
        .output(
            "size",
            json!({ "chars": facts.size.chars, "lines": facts.size.lines }),
        )
        .output(
            "files",
            json!({
                "mentioned": facts.files.mentioned,
                "existing": facts.files.existing,
                "checked": facts.files.existing.is_some(),
            }),
        );
    match agent {
        Some(totals) => success.output("agent", totals.to_json()),
        None => success,
    }
}

fn cut(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() <= MAX_SUMMARY_CHARS {
        return line.to_string();
    }
    let mut out: String = line.chars().take(MAX_SUMMARY_CHARS - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
