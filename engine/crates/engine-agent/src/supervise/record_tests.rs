use super::*;
use crate::prices::Pricing;

fn result(is_error: bool, subtype: &str) -> AgentEvent {
    AgentEvent::Result {
        is_error,
        subtype: subtype.into(),
        text: "done".into(),
        session_id: Some("s-result".into()),
        turns: Some(4),
        usage: Some(Usage {
            input_tokens: 10,
            ..Usage::default()
        }),
    }
}

fn summarize(events: &[AgentEvent], ending: &Ending) -> Summary {
    let mut record = Record::default();
    let mut spend = Spend::new(Pricing::none(), None);
    for event in events {
        if let AgentEvent::Usage { usage } = event {
            spend.update(usage);
        }
        record.event(event);
    }
    record.summary(ending, &spend)
}

fn exited(code: i32) -> Ending {
    Ending {
        exit_code: Some(code),
        ..Ending::default()
    }
}

#[test]
fn success_result_completes_even_with_a_bad_exit_code() {
    let s = summarize(&[result(false, "success")], &exited(1));
    assert_eq!(s.outcome, Outcome::Completed);
    assert_eq!(s.result_text, "done");
    assert_eq!(s.session_id.as_deref(), Some("s-result"));
    assert_eq!(s.turns, 4);
    assert_eq!(s.usage.input_tokens, 10);
    assert_eq!(s.exit_code, Some(1));
}

#[test]
fn error_result_is_explained_by_what_was_seen() {
    let limit = AgentEvent::RateLimited {
        resets_at_ms: Some(42),
        message: "hit your limit".into(),
    };
    let s = summarize(&[limit, result(true, "success")], &exited(0));
    assert_eq!(s.outcome, Outcome::RateLimited);
    assert_eq!(s.resets_at_ms, Some(42));

    let auth = AgentEvent::AuthFailed {
        message: "OAuth token has expired".into(),
    };
    let s = summarize(&[auth, result(true, "error_during_execution")], &exited(1));
    assert_eq!(s.outcome, Outcome::AuthFailed);

    let overflow = AgentEvent::ContextOverflow {
        message: "prompt is too long".into(),
    };
    let s = summarize(
        &[overflow, result(true, "error_during_execution")],
        &exited(1),
    );
    assert_eq!(s.outcome, Outcome::ContextOverflow);

    let s = summarize(&[result(true, "error_during_execution")], &exited(1));
    assert_eq!(s.outcome, Outcome::Errored);
    assert_eq!(s.resets_at_ms, None);
}

#[test]
fn subtypes_name_the_cli_limits() {
    let s = summarize(&[result(true, "error_max_turns")], &exited(0));
    assert_eq!(s.outcome, Outcome::MaxTurns);
    let s = summarize(&[result(true, "error_max_budget_usd")], &exited(0));
    assert_eq!(s.outcome, Outcome::BudgetExceeded);
}

#[test]
fn a_cli_refusing_its_configuration_is_misconfigured_not_errored() {
    for subtype in ["error_untrusted_workspace", "error_config"] {
        let mut refused = result(true, subtype);
        if let AgentEvent::Result { text, .. } = &mut refused {
            *text = format!("{} set GEMINI_CLI_TRUST_WORKSPACE=true", "x".repeat(400));
        }
        let s = summarize(&[refused], &exited(55));
        assert_eq!(s.outcome, Outcome::Misconfigured, "{subtype}");
        assert!(s.detail.starts_with("the agent CLI is misconfigured: xxx"));
        assert!(
            s.detail.ends_with("GEMINI_CLI_TRUST_WORKSPACE=true"),
            "kept whole"
        );
    }
}

#[test]
fn the_first_result_is_kept() {
    let mut record = Record::default();
    assert!(record.event(&result(false, "success")));
    assert!(!record.event(&result(true, "error_during_execution")));
    let s = record.summary(&exited(0), &Spend::new(Pricing::none(), None));
    assert_eq!(s.outcome, Outcome::Completed);
}

#[test]
fn no_result_is_a_crash_with_stderr() {
    let events: Vec<AgentEvent> = (0..7)
        .map(|i| AgentEvent::StderrLine {
            line: format!("line {i}"),
        })
        .collect();
    let s = summarize(&events, &exited(3));
    assert_eq!(s.outcome, Outcome::Crashed);
    assert_eq!(
        s.detail,
        "the process exited with code 3 without a result; last stderr: line 2 | line 3 | line 4 | line 5 | line 6"
    );
}

#[test]
fn kills_stand_unless_a_limit_explains_a_stuck_cli() {
    let kill = |outcome| Ending {
        kill: Some((outcome, "rule".into())),
        ..Ending::default()
    };
    let s = summarize(&[], &kill(Outcome::KilledInactive));
    assert_eq!(
        (s.outcome, s.detail.as_str()),
        (Outcome::KilledInactive, "rule")
    );
    let auth = AgentEvent::AuthFailed {
        message: "Please run /login".into(),
    };
    let s = summarize(std::slice::from_ref(&auth), &kill(Outcome::KilledInactive));
    assert_eq!(s.outcome, Outcome::AuthFailed);
    let s = summarize(&[auth], &kill(Outcome::Cancelled));
    assert_eq!(s.outcome, Outcome::Cancelled);
}

#[test]
fn a_result_outranks_the_kill_after_it() {
    let ending = Ending {
        killed_after_result: Some("killed 5s after its result".into()),
        ..Ending::default()
    };
    let s = summarize(&[result(false, "success")], &ending);
    assert_eq!(s.outcome, Outcome::Completed);
    assert!(
        s.detail.ends_with("killed 5s after its result"),
        "{}",
        s.detail
    );
}

#[test]
fn usage_falls_back_to_the_last_cumulative_update() {
    let usage = AgentEvent::Usage {
        usage: Usage {
            output_tokens: 99,
            cost_usd: Some(0.25),
            ..Usage::default()
        },
    };
    let s = summarize(&[usage], &exited(0));
    assert_eq!(s.usage.output_tokens, 99);
    assert_eq!(s.usage.cost_usd, Some(0.25));
    assert_eq!(s.turns, 0);
}

#[test]
fn an_exhausted_quota_is_its_own_outcome_and_outranks_a_rate_limit() {
    let quota = AgentEvent::QuotaExhausted {
        message: "insufficient_quota: check your plan and billing details".into(),
    };
    let limit = AgentEvent::RateLimited {
        resets_at_ms: None,
        message: "429".into(),
    };
    let s = summarize(
        &[limit, quota.clone(), result(true, "error_during_execution")],
        &exited(1),
    );
    assert_eq!(s.outcome, Outcome::QuotaExhausted);
    assert!(s.detail.contains("insufficient_quota"), "{}", s.detail);
    assert_eq!(s.resets_at_ms, None);
    // Without a result, and when a stuck CLI is killed after saying so.
    let s = summarize(std::slice::from_ref(&quota), &exited(1));
    assert_eq!(s.outcome, Outcome::QuotaExhausted);
    let ending = Ending {
        kill: Some((Outcome::KilledInactive, "no output".into())),
        ..Ending::default()
    };
    let s = summarize(&[quota], &ending);
    assert_eq!(s.outcome, Outcome::QuotaExhausted);
}

#[test]
fn a_final_spend_past_the_budget_is_budget_exceeded_even_after_a_success() {
    let ending = Ending {
        over_budget: Some("spent $3.00, past the budget of $1.00".into()),
        exit_code: Some(0),
        ..Ending::default()
    };
    let s = summarize(&[result(false, "success")], &ending);
    assert_eq!(s.outcome, Outcome::BudgetExceeded);
    assert!(s.detail.starts_with("spent $3.00"), "{}", s.detail);
    assert_eq!(s.result_text, "done", "the work's text is kept");
    // A cancel stands.
    let cancelled = Ending {
        kill: Some((Outcome::Cancelled, "cancelled by the stage".into())),
        ..ending
    };
    let s = summarize(&[], &cancelled);
    assert_eq!(s.outcome, Outcome::Cancelled);
}

#[test]
fn the_summary_marks_an_estimated_cost_and_names_the_model() {
    let mut record = Record::default();
    let mut spend = Spend::new(Pricing::default(), Some("sonnet".into()));
    spend.set_model("claude-sonnet-4-6");
    let usage = Usage {
        input_tokens: 1_000_000,
        output_tokens: 100_000,
        ..Usage::default()
    };
    spend.update(&usage);
    record.event(&AgentEvent::Usage { usage });
    let s = record.summary(&exited(137), &spend);
    assert!(s.cost_estimated);
    assert_eq!(s.model.as_deref(), Some("claude-sonnet-4-6"));
    let cost = s.usage.cost_usd.unwrap();
    assert!((cost - (3.0 + 1.5)).abs() < 1e-9, "{cost}");
}
