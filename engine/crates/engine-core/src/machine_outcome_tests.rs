//! Skipped stages, approvals, needs-attention and `finally:` records.

use super::tests::{fail, fresh, ok, stage, started, workflow};
use super::*;
use crate::event::FailureKind;
use crate::model::{ApprovalPolicy, OnFailure, OnTimeout, Stage};
use crate::state::{FinallyOutcome, StagePhase};

fn approval_stage(id: &str, needs: &[&str], on_timeout: OnTimeout) -> Stage {
    let mut s = stage(id, needs);
    s.approval = Some(ApprovalPolicy {
        timeout_ms: Some(1_000),
        on_timeout,
        message: Some("look at it".into()),
    });
    s
}

fn awaiting(cmds: &[Command]) -> Vec<(String, u32, Option<u64>)> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::AwaitApproval {
                stage,
                attempt,
                deadline_ms,
                ..
            } => Some((stage.clone(), *attempt, *deadline_ms)),
            _ => None,
        })
        .collect()
}

fn decide(stage: &str, approved: bool, reason: &str, at: u64) -> Event {
    Event::ApprovalDecided {
        stage: stage.into(),
        at_ms: at,
        approved,
        by: "ana".into(),
        reason: reason.into(),
    }
}

#[test]
fn a_skipped_stage_lets_the_stages_that_need_it_start_and_the_run_succeed() {
    let wf = workflow(vec![
        stage("a", &[]),
        stage("b", &["a"]),
        stage("c", &["b"]),
    ]);
    let t = start(&wf, &fresh(&wf), 0).unwrap();
    let t = step(&wf, &t.state, &ok("a", 1, 1)).unwrap();
    let skip = Event::StageSkipped {
        stage: "b".into(),
        attempt: 1,
        at_ms: 2,
        reason: "if: false".into(),
    };
    let t = step(&wf, &t.state, &skip).unwrap();
    assert_eq!(t.state.stages["b"].phase, StagePhase::Skipped);
    assert_eq!(started(&t.commands), vec![("c".to_string(), 1)]);
    // A second skip of the same attempt is stale.
    assert!(step(&wf, &t.state, &skip).is_err());
    let t = step(&wf, &t.state, &ok("c", 1, 3)).unwrap();
    assert_eq!(t.state.status, RunStatus::Succeeded);
}

#[test]
fn needs_attention_ends_the_run_without_retry_or_goto() {
    let mut b = stage("b", &["a"]);
    b.on_failure = Some(OnFailure {
        goto: "a".into(),
        max_loops: 3,
    });
    let wf = workflow(vec![stage("a", &[]), b]);
    let t = start(&wf, &fresh(&wf), 0).unwrap();
    let t = step(&wf, &t.state, &ok("a", 1, 1)).unwrap();
    let t = step(&wf, &t.state, &fail("b", 1, FailureKind::NeedsAttention, 2)).unwrap();
    assert_eq!(
        t.state.status,
        RunStatus::NeedsAttention {
            stage: "b".into(),
            reason: "b broke".into()
        }
    );
    assert!(started(&t.commands).is_empty());
    assert!(t.state.status.is_terminal());
}

#[test]
fn approval_waits_durably_and_an_approval_continues_the_run() {
    let wf = workflow(vec![
        stage("a", &[]),
        approval_stage("ok", &["a"], OnTimeout::Fail),
        stage("merge", &["ok"]),
    ]);
    let t = start(&wf, &fresh(&wf), 0).unwrap();
    let t = step(&wf, &t.state, &ok("a", 1, 10)).unwrap();
    assert_eq!(
        awaiting(&t.commands),
        vec![("ok".to_string(), 1, Some(1_010))]
    );
    assert!(started(&t.commands).is_empty());
    // A restart re-issues the same wait, with the same deadline.
    let t = step(&wf, &t.state, &Event::Resumed { at_ms: 500 }).unwrap();
    assert_eq!(
        awaiting(&t.commands),
        vec![("ok".to_string(), 1, Some(1_010))]
    );
    let t = step(&wf, &t.state, &decide("ok", true, "", 600)).unwrap();
    assert_eq!(t.state.stages["ok"].phase, StagePhase::Succeeded);
    assert_eq!(t.state.stages["ok"].outputs.as_ref().unwrap()["by"], "ana");
    assert_eq!(started(&t.commands), vec![("merge".to_string(), 1)]);
    // A second answer is refused.
    assert!(matches!(
        step(&wf, &t.state, &decide("ok", false, "no", 700)),
        Err(Rejected::NotAwaitingApproval { .. })
    ));
}

#[test]
fn a_rejection_goes_back_with_the_reason_as_feedback() {
    let mut gate = approval_stage("ok", &["a"], OnTimeout::Fail);
    gate.on_failure = Some(OnFailure {
        goto: "a".into(),
        max_loops: 1,
    });
    let wf = workflow(vec![stage("a", &[]), gate]);
    let t = start(&wf, &fresh(&wf), 0).unwrap();
    let t = step(&wf, &t.state, &ok("a", 1, 1)).unwrap();
    let t = step(&wf, &t.state, &decide("ok", false, "rename it", 2)).unwrap();
    let feedback = t.commands.iter().find_map(|c| match c {
        Command::StartAttempt {
            stage, feedback, ..
        } if stage == "a" => feedback.clone(),
        _ => None,
    });
    assert_eq!(feedback.unwrap().message, "rejected by ana: rename it");
    let t = step(&wf, &t.state, &ok("a", 2, 3)).unwrap();
    assert_eq!(
        awaiting(&t.commands),
        vec![("ok".to_string(), 2, Some(1_003))]
    );
    // Out of loops: the next rejection fails the run.
    let t = step(&wf, &t.state, &decide("ok", false, "still no", 4)).unwrap();
    assert!(matches!(t.state.status, RunStatus::Failed { .. }));
}

#[test]
fn approval_timeouts_follow_on_timeout_and_are_fenced() {
    for (policy, expect) in [
        (OnTimeout::Approve, "succeeded"),
        (OnTimeout::Reject, "failed"),
        (OnTimeout::Fail, "failed"),
    ] {
        let wf = workflow(vec![approval_stage("ok", &[], policy)]);
        let t = start(&wf, &fresh(&wf), 0).unwrap();
        let stale = Event::ApprovalTimedOut {
            stage: "ok".into(),
            attempt: 7,
            at_ms: 1_000,
        };
        assert!(step(&wf, &t.state, &stale).is_err());
        let due = Event::ApprovalTimedOut {
            stage: "ok".into(),
            attempt: 1,
            at_ms: 1_000,
        };
        let t = step(&wf, &t.state, &due).unwrap();
        assert_eq!(t.state.status.name(), expect, "{policy:?}");
    }
}

#[test]
fn reject_on_timeout_uses_on_failure_but_fail_does_not() {
    for (policy, goes_back) in [(OnTimeout::Reject, true), (OnTimeout::Fail, false)] {
        let mut gate = approval_stage("ok", &["a"], policy);
        gate.on_failure = Some(OnFailure {
            goto: "a".into(),
            max_loops: 1,
        });
        let wf = workflow(vec![stage("a", &[]), gate]);
        let t = start(&wf, &fresh(&wf), 0).unwrap();
        let t = step(&wf, &t.state, &ok("a", 1, 1)).unwrap();
        let due = Event::ApprovalTimedOut {
            stage: "ok".into(),
            attempt: 1,
            at_ms: 2_000,
        };
        let t = step(&wf, &t.state, &due).unwrap();
        assert_eq!(!started(&t.commands).is_empty(), goes_back, "{policy:?}");
    }
}

#[test]
fn cancel_ends_an_approval_wait() {
    let wf = workflow(vec![approval_stage("ok", &[], OnTimeout::Fail)]);
    let t = start(&wf, &fresh(&wf), 0).unwrap();
    let cancel = Event::CancelRequested {
        at_ms: 5,
        reason: "bye".into(),
    };
    let t = step(&wf, &t.state, &cancel).unwrap();
    assert_eq!(t.state.stages["ok"].phase, StagePhase::Cancelled);
    assert!(step(&wf, &t.state, &decide("ok", true, "", 6)).is_err());
}

#[test]
fn finally_records_are_accepted_once_and_only_after_the_end() {
    let mut wf = workflow(vec![stage("a", &[])]);
    wf.finally = vec![stage("notify", &[])];
    let record = Event::FinallyFinished {
        stage: "notify".into(),
        at_ms: 9,
        outcome: FinallyOutcome::Failed {
            message: "500".into(),
        },
    };
    let t = start(&wf, &fresh(&wf), 0).unwrap();
    assert!(t.state.pending_finally(&wf).is_empty());
    assert!(step(&wf, &t.state, &record).is_err());
    let t = step(&wf, &t.state, &ok("a", 1, 1)).unwrap();
    assert_eq!(t.state.pending_finally(&wf).len(), 1);
    let t = step(&wf, &t.state, &record).unwrap();
    // A failing notifier never changes the run's outcome.
    assert_eq!(t.state.status, RunStatus::Succeeded);
    assert!(t.state.pending_finally(&wf).is_empty());
    assert!(matches!(
        step(&wf, &t.state, &record),
        Err(Rejected::AlreadyRecorded(_))
    ));
    let unknown = Event::FinallyFinished {
        stage: "nope".into(),
        at_ms: 9,
        outcome: FinallyOutcome::Skipped { reason: "x".into() },
    };
    assert!(step(&wf, &t.state, &unknown).is_err());
}
