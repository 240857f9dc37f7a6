use proptest::prelude::*;

use super::*;
use crate::event::{Failure, FailureKind, Spend};
use crate::model::{Delivery, OnFailure, RetryPolicy, Stage};
use crate::state::Task;

pub(super) fn stage(id: &str, needs: &[&str]) -> Stage {
    Stage {
        id: id.into(),
        needs: needs.iter().map(std::string::ToString::to_string).collect(),
        retry: RetryPolicy {
            max_attempts: 2,
            initial_interval_ms: 100,
            backoff: 2.0,
            max_interval_ms: 1000,
        },
        on_failure: None,
        delivery: Delivery::default(),
        approval: None,
    }
}

pub(super) fn workflow(stages: Vec<Stage>) -> Workflow {
    Workflow {
        name: "t".into(),
        stages,
        finally: Vec::new(),
        timeout_ms: None,
    }
}

pub(super) fn fresh(wf: &Workflow) -> RunState {
    RunState::new("run1", Task::default(), wf)
}

pub(super) fn ok(stage: &str, attempt: u32, at: u64) -> Event {
    Event::AttemptSucceeded {
        stage: stage.into(),
        attempt,
        at_ms: at,
        summary: "ok".into(),
        outputs: serde_json::json!({"n": attempt}),
        commits: vec![],
        spend: Spend::NONE,
    }
}

pub(super) fn fail(stage: &str, attempt: u32, kind: FailureKind, at: u64) -> Event {
    Event::AttemptFailed {
        stage: stage.into(),
        attempt,
        at_ms: at,
        failure: Failure {
            kind,
            message: format!("{stage} broke"),
            detail: serde_json::json!({"attempt": attempt}),
            retry_at_ms: None,
        },
        spend: Spend::NONE,
    }
}

pub(super) fn started(cmds: &[Command]) -> Vec<(String, u32)> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::StartAttempt { stage, attempt, .. } => Some((stage.clone(), *attempt)),
            _ => None,
        })
        .collect()
}

#[test]
fn runs_stages_in_needs_order_and_parallel_when_independent() {
    let wf = workflow(vec![
        stage("a", &[]),
        stage("b", &["a"]),
        stage("c", &["a"]),
        stage("d", &["b", "c"]),
    ]);
    let t = start(&wf, &fresh(&wf), 0).unwrap();
    assert_eq!(started(&t.commands), vec![("a".into(), 1)]);
    let t = step(&wf, &t.state, &ok("a", 1, 1)).unwrap();
    assert_eq!(started(&t.commands), vec![("b".into(), 1), ("c".into(), 1)]);
    let t = step(&wf, &t.state, &ok("b", 1, 2)).unwrap();
    assert!(started(&t.commands).is_empty());
    let t = step(&wf, &t.state, &ok("c", 1, 3)).unwrap();
    assert_eq!(started(&t.commands), vec![("d".into(), 1)]);
    let t = step(&wf, &t.state, &ok("d", 1, 4)).unwrap();
    assert_eq!(t.state.status, RunStatus::Succeeded);
    assert_eq!(
        t.commands,
        vec![Command::FinishRun {
            status: RunStatus::Succeeded
        }]
    );
    assert_eq!(t.state.seq, 5);
    assert_eq!(t.state.finished_at_ms, Some(4));
}

#[test]
fn retryable_failure_is_retried_with_backoff_then_fails_the_run() {
    let wf = workflow(vec![stage("a", &[])]);
    let t = start(&wf, &fresh(&wf), 0).unwrap();
    let t = step(&wf, &t.state, &fail("a", 1, FailureKind::Retryable, 10)).unwrap();
    assert_eq!(
        t.commands,
        vec![Command::ScheduleRetry {
            stage: "a".into(),
            attempt: 2,
            due_at_ms: 110
        }]
    );
    // A retry that is not the scheduled one is rejected.
    let stale = Event::RetryDue {
        stage: "a".into(),
        attempt: 3,
        at_ms: 110,
    };
    assert!(matches!(
        step(&wf, &t.state, &stale),
        Err(Rejected::StaleAttempt { .. })
    ));
    let due = Event::RetryDue {
        stage: "a".into(),
        attempt: 2,
        at_ms: 110,
    };
    let t = step(&wf, &t.state, &due).unwrap();
    assert_eq!(started(&t.commands), vec![("a".into(), 2)]);
    // Second attempt times out: the round (max_attempts 2) is used up, so the run fails.
    let t = step(&wf, &t.state, &fail("a", 2, FailureKind::TimedOut, 120)).unwrap();
    assert_eq!(
        t.state.status,
        RunStatus::Failed {
            stage: "a".into(),
            message: "a broke".into()
        }
    );
    assert_eq!(t.state.stages["a"].history.len(), 2);
}

#[test]
fn fatal_failure_is_not_retried() {
    let wf = workflow(vec![stage("a", &[])]);
    let t = start(&wf, &fresh(&wf), 0).unwrap();
    let t = step(&wf, &t.state, &fail("a", 1, FailureKind::Fatal, 1)).unwrap();
    assert_eq!(t.state.status.name(), "failed");
}

#[test]
fn on_failure_goto_sends_the_run_back_with_feedback_and_is_bounded() {
    let mut test = stage("test", &["exec"]);
    test.on_failure = Some(OnFailure {
        goto: "exec".into(),
        max_loops: 1,
    });
    let wf = workflow(vec![stage("exec", &[]), test]);
    let t = start(&wf, &fresh(&wf), 0).unwrap();
    let t = step(&wf, &t.state, &ok("exec", 1, 1)).unwrap();
    let t = step(&wf, &t.state, &fail("test", 1, FailureKind::Fatal, 2)).unwrap();
    match &t.commands[..] {
        [
            Command::StartAttempt {
                stage,
                attempt,
                feedback: Some(fb),
                ..
            },
        ] => {
            assert_eq!((stage.as_str(), *attempt), ("exec", 2));
            assert_eq!(fb.from_stage, "test");
            assert_eq!(fb.message, "test broke");
        }
        other => panic!("unexpected commands {other:?}"),
    }
    assert_eq!(t.state.stages["test"].phase, StagePhase::Pending);
    let t = step(&wf, &t.state, &ok("exec", 2, 3)).unwrap();
    assert_eq!(started(&t.commands), vec![("test".into(), 2)]);
    assert_eq!(t.state.stages["exec"].feedback, None);
    // The loop budget is spent: the second failure fails the run.
    let t = step(&wf, &t.state, &fail("test", 2, FailureKind::Fatal, 4)).unwrap();
    assert_eq!(t.state.status.name(), "failed");
}

#[test]
fn goto_cancels_running_parallel_stages_and_fences_their_results() {
    let mut lint = stage("lint", &["build"]);
    lint.on_failure = Some(OnFailure {
        goto: "build".into(),
        max_loops: 2,
    });
    let wf = workflow(vec![stage("build", &[]), lint, stage("docs", &["build"])]);
    let t = start(&wf, &fresh(&wf), 0).unwrap();
    let t = step(&wf, &t.state, &ok("build", 1, 1)).unwrap();
    let t = step(&wf, &t.state, &fail("lint", 1, FailureKind::Fatal, 2)).unwrap();
    assert!(t.commands.contains(&Command::CancelAttempt {
        stage: "docs".into(),
        attempt: 1
    }));
    // docs' late result for attempt 1 is rejected.
    assert!(matches!(
        step(&wf, &t.state, &ok("docs", 1, 3)),
        Err(Rejected::StaleAttempt { .. })
    ));
}

#[test]
fn results_for_superseded_or_duplicate_attempts_are_rejected() {
    let wf = workflow(vec![stage("a", &[]), stage("b", &["a"])]);
    let t = start(&wf, &fresh(&wf), 0).unwrap();
    let t = step(&wf, &t.state, &ok("a", 1, 1)).unwrap();
    assert!(step(&wf, &t.state, &ok("a", 1, 2)).is_err(), "duplicate");
    assert!(
        step(&wf, &t.state, &ok("b", 7, 2)).is_err(),
        "wrong attempt"
    );
    assert!(
        step(&wf, &t.state, &ok("zz", 1, 2)).is_err(),
        "unknown stage"
    );
}

#[test]
fn resume_restarts_interrupted_attempts_with_higher_numbers() {
    let mut merge = stage("merge", &["a"]);
    merge.delivery = Delivery::AtMostOnce;
    let wf = workflow(vec![stage("a", &[]), merge]);
    let t = start(&wf, &fresh(&wf), 0).unwrap();
    let t = step(&wf, &t.state, &ok("a", 1, 1)).unwrap();
    let t = step(&wf, &t.state, &Event::Resumed { at_ms: 5 }).unwrap();
    assert_eq!(
        t.commands,
        vec![Command::StartAttempt {
            stage: "merge".into(),
            attempt: 2,
            interrupted: true,
            feedback: None
        }]
    );
    assert_eq!(
        t.state.stages["merge"].history[0].outcome,
        AttemptOutcome::Interrupted
    );
    // The interrupted attempt did not use up the retry budget.
    assert_eq!(t.state.stages["merge"].round_attempts, 1);
    // The old attempt's result is fenced out.
    assert!(step(&wf, &t.state, &ok("merge", 1, 6)).is_err());
    let t = step(&wf, &t.state, &ok("merge", 2, 6)).unwrap();
    assert_eq!(t.state.status, RunStatus::Succeeded);
    assert!(!t.state.stages["merge"].interrupted);
}

#[test]
fn resume_reissues_pending_retry_schedules() {
    let wf = workflow(vec![stage("a", &[])]);
    let t = start(&wf, &fresh(&wf), 0).unwrap();
    let t = step(&wf, &t.state, &fail("a", 1, FailureKind::Retryable, 10)).unwrap();
    let t = step(&wf, &t.state, &Event::Resumed { at_ms: 50 }).unwrap();
    assert_eq!(
        t.commands,
        vec![Command::ScheduleRetry {
            stage: "a".into(),
            attempt: 2,
            due_at_ms: 110
        }]
    );
}

#[test]
fn cancel_stops_running_attempts_and_finishes() {
    let wf = workflow(vec![stage("a", &[]), stage("b", &[])]);
    let t = start(&wf, &fresh(&wf), 0).unwrap();
    let cancel = Event::CancelRequested {
        at_ms: 3,
        reason: "user".into(),
    };
    let t = step(&wf, &t.state, &cancel).unwrap();
    assert_eq!(t.commands.len(), 3);
    assert!(t.state.status.is_terminal());
    assert!(matches!(
        step(&wf, &t.state, &ok("a", 1, 4)),
        Err(Rejected::RunFinished { .. })
    ));
    assert!(step(&wf, &t.state, &cancel).is_err());
}

/// A cancel stops what runs exactly as a failure that ends the run does: running attempts and
/// scheduled retries end as cancelled, stages that never started stay pending ("not run").
#[test]
fn a_cancel_stops_the_run_the_way_a_failure_that_ends_it_does() {
    let wf = workflow(vec![
        stage("a", &[]),
        stage("b", &[]),
        stage("c", &["a"]),
        stage("d", &[]),
    ]);
    let t = start(&wf, &fresh(&wf), 0).unwrap();
    let t = step(&wf, &t.state, &fail("b", 1, FailureKind::Retryable, 1)).unwrap();
    assert!(matches!(
        t.state.stages["b"].phase,
        StagePhase::RetryWaiting { .. }
    ));
    let before = t.state;

    let cancel = Event::CancelRequested {
        at_ms: 2,
        reason: "user".into(),
    };
    let cancelled = step(&wf, &before, &cancel).unwrap();
    let failed = step(&wf, &before, &fail("d", 1, FailureKind::Fatal, 2)).unwrap();
    assert!(matches!(
        cancelled.state.status,
        RunStatus::Cancelled { .. }
    ));
    assert!(matches!(failed.state.status, RunStatus::Failed { .. }));
    for id in ["a", "b", "c"] {
        assert_eq!(
            cancelled.state.stages[id].phase, failed.state.stages[id].phase,
            "stage {id}"
        );
    }
    assert_eq!(cancelled.state.stages["a"].phase, StagePhase::Cancelled);
    assert_eq!(cancelled.state.stages["b"].phase, StagePhase::Cancelled);
    assert_eq!(cancelled.state.stages["c"].phase, StagePhase::Pending);
    assert_eq!(cancelled.state.stages["d"].phase, StagePhase::Cancelled);
    let stopped = |t: &Transition| -> Vec<String> {
        t.commands
            .iter()
            .filter_map(|c| match c {
                Command::CancelAttempt { stage, .. } => Some(stage.clone()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(stopped(&cancelled), vec!["a".to_string(), "d".to_string()]);
    assert_eq!(stopped(&failed), vec!["a".to_string()]);
}

#[test]
fn retry_from_reruns_the_stage_and_everything_after_it() {
    let wf = workflow(vec![
        stage("a", &[]),
        stage("b", &["a"]),
        stage("c", &["b"]),
    ]);
    let mut s = start(&wf, &fresh(&wf), 0).unwrap().state;
    for (i, id) in ["a", "b", "c"].iter().enumerate() {
        s = step(&wf, &s, &ok(id, 1, i as u64 + 1)).unwrap().state;
    }
    assert!(
        step(
            &wf,
            &s,
            &Event::RetryFrom {
                stage: "x".into(),
                at_ms: 9
            }
        )
        .is_err()
    );
    let t = step(
        &wf,
        &s,
        &Event::RetryFrom {
            stage: "b".into(),
            at_ms: 9,
        },
    )
    .unwrap();
    assert_eq!(started(&t.commands), vec![("b".into(), 2)]);
    assert_eq!(t.state.stages["a"].phase, StagePhase::Succeeded);
    assert_eq!(t.state.stages["c"].phase, StagePhase::Pending);
}

fn spent(usd: f64, tokens: u64) -> Spend {
    Spend {
        cost_usd: usd,
        cost_known: true,
        input_tokens: tokens,
        output_tokens: tokens,
        ..Spend::NONE
    }
}

#[test]
#[expect(
    clippy::float_cmp,
    reason = "the costs are sums of 0.25, 0.5 and 1.0, exact in binary floating point"
)]
fn spend_is_recorded_per_attempt_even_for_cancelled_attempts() {
    let mut lint = stage("lint", &["build"]);
    lint.on_failure = Some(OnFailure {
        goto: "build".into(),
        max_loops: 1,
    });
    let wf = workflow(vec![stage("build", &[]), lint, stage("docs", &["build"])]);
    let t = start(&wf, &fresh(&wf), 0).unwrap();
    let mut success = ok("build", 1, 1);
    if let Event::AttemptSucceeded { spend, .. } = &mut success {
        *spend = spent(0.5, 100);
    }
    let t = step(&wf, &t.state, &success).unwrap();
    let mut failure = fail("lint", 1, FailureKind::Fatal, 2);
    if let Event::AttemptFailed { spend, .. } = &mut failure {
        *spend = spent(0.25, 10);
    }
    // lint's failure sends the run back, cancelling docs' attempt 1 ...
    let t = step(&wf, &t.state, &failure).unwrap();
    assert!(step(&wf, &t.state, &ok("docs", 1, 3)).is_err());
    // ... whose money is still counted.
    let recorded = Event::SpendRecorded {
        stage: "docs".into(),
        attempt: 1,
        at_ms: 3,
        spend: spent(1.0, 1),
    };
    let t = step(&wf, &t.state, &recorded).unwrap();
    assert!(t.commands.is_empty());
    assert_eq!(t.state.stages["docs"].spend().cost_usd, 1.0);
    assert_eq!(t.state.spend().cost_usd, 1.75);
    assert_eq!(t.state.spend().input_tokens, 111);
    let bogus = Event::SpendRecorded {
        stage: "docs".into(),
        attempt: 9,
        at_ms: 3,
        spend: spent(1.0, 1),
    };
    assert!(step(&wf, &t.state, &bogus).is_err());
}

#[test]
fn a_usage_limit_waits_for_its_reset_without_using_up_retries() {
    let mut a = stage("a", &[]);
    a.retry.max_attempts = 1;
    let wf = workflow(vec![a]);
    let mut state = start(&wf, &fresh(&wf), 0).unwrap().state;
    // Three usage limits in a row: each is retried at its reset time, never failing the run.
    for (i, attempt) in [1u32, 2, 3].iter().enumerate() {
        let at = 10 + i as u64 * 1000;
        let mut limited = fail("a", *attempt, FailureKind::Retryable, at);
        if let Event::AttemptFailed { failure, .. } = &mut limited {
            failure.retry_at_ms = Some(at + 500);
        }
        let t = step(&wf, &state, &limited).unwrap();
        assert_eq!(
            t.commands,
            vec![Command::ScheduleRetry {
                stage: "a".into(),
                attempt: attempt + 1,
                due_at_ms: at + 500
            }]
        );
        let due = Event::RetryDue {
            stage: "a".into(),
            attempt: attempt + 1,
            at_ms: at + 500,
        };
        state = step(&wf, &t.state, &due).unwrap().state;
    }
    // An ordinary failure with max_attempts 1 now fails the run.
    let t = step(&wf, &state, &fail("a", 4, FailureKind::Retryable, 5000)).unwrap();
    assert_eq!(t.state.status.name(), "failed");
}

#[test]
fn events_before_start_are_rejected() {
    let wf = workflow(vec![stage("a", &[])]);
    let s = fresh(&wf);
    assert!(step(&wf, &s, &ok("a", 1, 1)).is_err());
    assert!(step(&wf, &s, &Event::Resumed { at_ms: 1 }).is_err());
    let t = start(&wf, &s, 0).unwrap();
    assert!(start(&wf, &t.state, 1).is_err());
}

// ---------------------------------------------------------------------------------------------
// Property tests: random workflows driven by random (including hostile) event sequences.

#[derive(Debug, Clone)]
struct StageGen {
    needs: Vec<usize>,
    max_attempts: u32,
    goto_back: Option<(usize, u32)>,
    /// An approval stage instead of a component.
    approval: bool,
}

fn arb_workflow() -> impl Strategy<Value = Workflow> {
    prop::collection::vec(
        (
            prop::collection::vec(any::<prop::sample::Index>(), 0..3),
            1u32..4,
            prop::option::of((any::<prop::sample::Index>(), 0u32..3)),
            prop::bool::weighted(0.2),
        ),
        1..6,
    )
    .prop_flat_map(|gens| (Just(gens), prop::option::of(5u64..80)))
    .prop_map(|(gens, timeout_ms)| {
        let gens: Vec<StageGen> = gens
            .into_iter()
            .enumerate()
            .map(|(i, (needs, max_attempts, goto, approval))| StageGen {
                needs: if i == 0 {
                    vec![]
                } else {
                    let mut n: Vec<usize> = needs.iter().map(|ix| ix.index(i)).collect();
                    n.sort_unstable();
                    n.dedup();
                    n
                },
                max_attempts,
                goto_back: goto.map(|(ix, loops)| (ix.index(i + 1), loops)),
                approval,
            })
            .collect();
        let ids: Vec<String> = (0..gens.len()).map(|i| format!("s{i}")).collect();
        let stages = gens
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let needs: Vec<&str> = g.needs.iter().map(|n| ids[*n].as_str()).collect();
                let mut s = stage(&ids[i], &needs);
                s.retry.max_attempts = g.max_attempts;
                if g.approval {
                    s.approval = Some(crate::model::ApprovalPolicy {
                        timeout_ms: Some(50),
                        on_timeout: [
                            crate::model::OnTimeout::Approve,
                            crate::model::OnTimeout::Reject,
                            crate::model::OnTimeout::Fail,
                        ][i % 3],
                        message: None,
                    });
                }
                // goto must be this stage or an ancestor; using an index <= i that is an
                // ancestor or itself keeps it valid.
                if let Some((target, loops)) = g.goto_back {
                    let target = if target == i || is_ancestor(&gens, target, i) {
                        target
                    } else {
                        i
                    };
                    s.on_failure = Some(OnFailure {
                        goto: ids[target].clone(),
                        max_loops: loops,
                    });
                }
                s
            })
            .collect();
        let mut wf = workflow(stages);
        wf.timeout_ms = timeout_ms;
        wf
    })
}

fn is_ancestor(gens: &[StageGen], candidate: usize, of: usize) -> bool {
    gens[of]
        .needs
        .iter()
        .any(|n| *n == candidate || is_ancestor(gens, candidate, *n))
}

/// What a driver might feed: picks are resolved against the current state.
#[derive(Debug, Clone)]
enum Action {
    Succeed(prop::sample::Index),
    Fail(prop::sample::Index, u8),
    FireRetry(prop::sample::Index),
    Stale(prop::sample::Index, u32),
    Resume,
    Cancel,
    RetryFrom(prop::sample::Index),
    Skip(prop::sample::Index),
    Answer(prop::sample::Index, bool),
    TimeOut(prop::sample::Index),
    Pause,
    Unpause,
    RunTimeout,
}

fn arb_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        6 => any::<prop::sample::Index>().prop_map(Action::Succeed),
        4 => (any::<prop::sample::Index>(), 0u8..3).prop_map(|(i, k)| Action::Fail(i, k)),
        3 => any::<prop::sample::Index>().prop_map(Action::FireRetry),
        2 => (any::<prop::sample::Index>(), 0u32..6).prop_map(|(i, a)| Action::Stale(i, a)),
        1 => Just(Action::Resume),
        1 => Just(Action::Cancel),
        1 => any::<prop::sample::Index>().prop_map(Action::RetryFrom),
        1 => any::<prop::sample::Index>().prop_map(Action::Skip),
        2 => (any::<prop::sample::Index>(), any::<bool>()).prop_map(|(i, b)| Action::Answer(i, b)),
        1 => any::<prop::sample::Index>().prop_map(Action::TimeOut),
        1 => Just(Action::Pause),
        1 => Just(Action::Unpause),
        1 => Just(Action::RunTimeout),
    ]
}

fn awaiting(state: &RunState) -> Vec<(String, u32)> {
    state
        .awaiting_approval()
        .into_iter()
        .map(|(s, a)| (s.to_string(), a))
        .collect()
}

fn running(state: &RunState) -> Vec<(String, u32)> {
    state
        .stages
        .iter()
        .filter_map(|(id, s)| s.running_attempt().map(|a| (id.clone(), a)))
        .collect()
}

fn waiting(state: &RunState) -> Vec<(String, u32)> {
    state
        .stages
        .iter()
        .filter_map(|(id, s)| match s.phase {
            StagePhase::RetryWaiting { attempt, .. } => Some((id.clone(), attempt)),
            _ => None,
        })
        .collect()
}

fn to_event(action: &Action, state: &RunState, wf: &Workflow, at: u64) -> Option<Event> {
    let kinds = [
        FailureKind::Retryable,
        FailureKind::Fatal,
        FailureKind::TimedOut,
        FailureKind::NeedsAttention,
    ];
    Some(match action {
        Action::Succeed(pick) => {
            let candidates = running(state);
            let (stage, attempt) = candidates.get(pick.index(candidates.len().max(1)))?.clone();
            ok(&stage, attempt, at)
        }
        Action::Fail(pick, kind) => {
            let candidates = running(state);
            let (stage, attempt) = candidates.get(pick.index(candidates.len().max(1)))?.clone();
            fail(&stage, attempt, kinds[usize::from(*kind)], at)
        }
        Action::FireRetry(pick) => {
            let candidates = waiting(state);
            let (stage, attempt) = candidates.get(pick.index(candidates.len().max(1)))?.clone();
            Event::RetryDue {
                stage,
                attempt,
                at_ms: at,
            }
        }
        Action::Stale(pick, attempt) => {
            let id = &wf.stages[pick.index(wf.stages.len())].id;
            ok(id, *attempt, at)
        }
        Action::Resume => Event::Resumed { at_ms: at },
        Action::Cancel => Event::CancelRequested {
            at_ms: at,
            reason: "test".into(),
        },
        Action::RetryFrom(pick) => Event::RetryFrom {
            stage: wf.stages[pick.index(wf.stages.len())].id.clone(),
            at_ms: at,
        },
        Action::Skip(pick) => {
            let candidates = running(state);
            let (stage, attempt) = candidates.get(pick.index(candidates.len().max(1)))?.clone();
            Event::StageSkipped {
                stage,
                attempt,
                at_ms: at,
                reason: "if: false".into(),
            }
        }
        Action::Answer(pick, approved) => {
            let candidates = awaiting(state);
            let (stage, _) = candidates.get(pick.index(candidates.len().max(1)))?.clone();
            Event::ApprovalDecided {
                stage,
                at_ms: at,
                approved: *approved,
                by: "t".into(),
                reason: "r".into(),
            }
        }
        Action::TimeOut(pick) => {
            let candidates = awaiting(state);
            let (stage, attempt) = candidates.get(pick.index(candidates.len().max(1)))?.clone();
            Event::ApprovalTimedOut {
                stage,
                attempt,
                at_ms: at,
            }
        }
        Action::Pause => Event::Paused { at_ms: at },
        Action::Unpause => Event::Unpaused { at_ms: at },
        Action::RunTimeout => Event::RunTimedOut { at_ms: at },
    })
}

/// Checks the invariants of one accepted transition.
fn check_transition(wf: &Workflow, before: &RunState, event: &Event, t: &Transition) {
    let after = &t.state;
    assert_eq!(after.seq, before.seq + 1);
    for (id, b) in &before.stages {
        let a = &after.stages[id];
        assert!(a.attempts >= b.attempts, "attempts went down for {id}");
        if let Some(att) = a.running_attempt() {
            assert_eq!(
                att, a.attempts,
                "running attempt is not the newest for {id}"
            );
        }
        // A finished stage runs again only when asked: a loop back or retry --from.
        if b.is_done() && !a.is_done() {
            assert!(
                matches!(
                    event,
                    Event::AttemptFailed { .. }
                        | Event::RetryFrom { .. }
                        | Event::ApprovalDecided {
                            approved: false,
                            ..
                        }
                        | Event::ApprovalTimedOut { .. }
                ),
                "succeeded stage {id} reset by {event:?}"
            );
        }
        // History is append-only: an attempt that ended keeps its outcome forever.
        for (rb, ra) in b.history.iter().zip(&a.history) {
            assert_eq!(rb.attempt, ra.attempt);
            if rb.ended_at_ms.is_some() {
                assert_eq!(
                    (rb.started_at_ms, rb.ended_at_ms, &rb.outcome),
                    (ra.started_at_ms, ra.ended_at_ms, &ra.outcome),
                    "ended attempt of {id} rewritten"
                );
            }
        }
        assert!(a.history.len() >= b.history.len());
        let max_loops = wf
            .stage(id)
            .and_then(|s| s.on_failure.as_ref())
            .map_or(0, |o| o.max_loops);
        assert!(a.loops <= max_loops, "loops unbounded for {id}");
    }
    // The attempt an event reports on ends with exactly that outcome.
    let reported = match event {
        Event::AttemptSucceeded { stage, attempt, .. } => Some((stage, attempt, true)),
        Event::AttemptFailed { stage, attempt, .. } => Some((stage, attempt, false)),
        _ => None,
    };
    if let Some((stage, attempt, succeeded)) = reported {
        let record = after.stages[stage]
            .history
            .iter()
            .find(|r| r.attempt == *attempt)
            .expect("reported attempt is in the history");
        assert_eq!(
            matches!(record.outcome, AttemptOutcome::Succeeded { .. }),
            succeeded
        );
        assert_eq!(
            matches!(record.outcome, AttemptOutcome::Failed { .. }),
            !succeeded,
            "outcome of {stage}/{attempt} is {:?}",
            record.outcome
        );
    }
    for cmd in &t.commands {
        if let Command::StartAttempt { stage, attempt, .. } = cmd {
            assert!(*attempt > before.stages[stage].attempts);
        }
        // A paused run starts nothing: no attempt, no new approval wait (a resume re-issues
        // the waits that were already going on).
        if after.is_paused() {
            let starts = match cmd {
                Command::StartAttempt { .. } => true,
                Command::AwaitApproval { .. } => !matches!(event, Event::Resumed { .. }),
                _ => false,
            };
            assert!(!starts, "paused run started {cmd:?} on {event:?}");
        }
    }
    if after.is_paused() {
        for (id, a) in &after.stages {
            assert!(
                a.history.len() == before.stages[id].history.len(),
                "paused run began an attempt of {id} on {event:?}"
            );
        }
    }
    // A run ends for its timeout only once its deadline has passed.
    if matches!(event, Event::RunTimedOut { .. }) {
        assert!(after.deadline_ms.is_some_and(|d| event.at_ms() >= d));
        assert!(matches!(after.status, RunStatus::Failed { .. }));
    }
    if after.status.is_terminal() {
        assert!(!after.is_paused(), "an ended run is still paused");
    }
    if after.status.is_terminal() {
        assert!(
            running(after).is_empty(),
            "terminal run with running stages"
        );
        assert!(
            waiting(after).is_empty(),
            "terminal run with scheduled retries"
        );
        assert!(
            awaiting(after).is_empty(),
            "terminal run still waiting for approval"
        );
    }
    if after.status == RunStatus::Succeeded {
        assert!(after.stages.values().all(StageState::is_done));
    }
    if after.status == RunStatus::Running && !after.is_paused() {
        // Progress is always possible: something runs, waits for a retry or for a human (a
        // paused run waits for its unpause).
        assert!(
            !running(after).is_empty() || !waiting(after).is_empty() || !awaiting(after).is_empty(),
            "running run is stuck: {after:?}"
        );
    }
    if matches!(event, Event::AttemptFailed { failure, .. } if failure.kind == FailureKind::NeedsAttention)
    {
        assert!(matches!(after.status, RunStatus::NeedsAttention { .. }));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn invariants_hold_under_random_event_sequences(
        wf in arb_workflow(),
        actions in prop::collection::vec(arb_action(), 0..60),
        finish_choices in prop::collection::vec(any::<(prop::sample::Index, bool)>(), 400),
    ) {
        let mut state = start(&wf, &fresh(&wf), 0).unwrap().state;
        let mut log = vec![Event::RunStarted { at_ms: 0 }];
        let mut at = 1;
        for action in &actions {
            at += 1;
            let Some(event) = to_event(action, &state, &wf, at) else { continue };
            match step(&wf, &state, &event) {
                Ok(t) => {
                    check_transition(&wf, &state, &event, &t);
                    state = t.state;
                    log.push(event);
                }
                Err(_) => {
                    // Rejected events change nothing; nothing to check but that they are
                    // never results of the running attempt.
                    if let Event::AttemptSucceeded { stage, attempt, .. } = &event {
                        prop_assert!(
                            state.status != RunStatus::Running
                                || state.stages.get(stage).and_then(super::super::state::StageState::running_attempt)
                                    != Some(*attempt)
                        );
                    }
                }
            }
        }
        // A fair driver (results and due retries only) always brings the run to an end.
        for (pick, succeed) in &finish_choices {
            if state.status.is_terminal() {
                break;
            }
            at += 1;
            let action = if state.is_paused() {
                Action::Unpause
            } else if !running(&state).is_empty() {
                if *succeed { Action::Succeed(*pick) } else { Action::Fail(*pick, 1) }
            } else if !awaiting(&state).is_empty() {
                Action::Answer(*pick, *succeed)
            } else {
                Action::FireRetry(*pick)
            };
            let event = to_event(&action, &state, &wf, at).expect("progress is possible");
            let t = step(&wf, &state, &event).expect("fair driver events are accepted");
            check_transition(&wf, &state, &event, &t);
            state = t.state;
            log.push(event);
        }
        prop_assert!(state.status.is_terminal(), "run did not end: {:?}", state.status);

        // Replaying the accepted log from scratch rebuilds exactly the same state.
        let mut replay = fresh(&wf);
        for event in &log {
            replay = step(&wf, &replay, event).unwrap().state;
        }
        prop_assert_eq!(replay, state);
    }
}
