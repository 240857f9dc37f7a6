//! Pausing and unpausing a run, its deadline under `timeout:`, and which stages `retry --from`
//! runs again.

use super::control::duration_text;
use super::tests::{fail, fresh, ok, stage, started, workflow};
use super::*;
use crate::event::FailureKind;
use crate::model::Delivery;

fn pause(at: u64) -> Event {
    Event::Paused { at_ms: at }
}

fn unpause(at: u64) -> Event {
    Event::Unpaused { at_ms: at }
}

#[test]
fn a_paused_run_lets_the_running_attempt_finish_and_starts_nothing_until_unpaused() {
    let wf = workflow(vec![stage("a", &[]), stage("b", &["a"])]);
    let t = start(&wf, &fresh(&wf), 0).unwrap();
    let t = step(&wf, &t.state, &pause(1)).unwrap();
    assert!(t.commands.is_empty());
    assert_eq!(t.state.paused_at_ms, Some(1));
    // a's result is recorded; b, now ready, does not start.
    let t = step(&wf, &t.state, &ok("a", 1, 2)).unwrap();
    assert!(started(&t.commands).is_empty(), "{:?}", t.commands);
    assert_eq!(t.state.stages["a"].phase, StagePhase::Succeeded);
    assert_eq!(t.state.stages["b"].phase, StagePhase::Pending);
    assert_eq!(t.state.status, RunStatus::Running);
    let t = step(&wf, &t.state, &unpause(3)).unwrap();
    assert_eq!(started(&t.commands), vec![("b".into(), 1)]);
    assert!(!t.state.is_paused());
}

#[test]
fn a_retry_that_falls_due_while_paused_waits_for_the_unpause() {
    let wf = workflow(vec![stage("a", &[])]);
    let t = start(&wf, &fresh(&wf), 0).unwrap();
    let t = step(&wf, &t.state, &fail("a", 1, FailureKind::Retryable, 10)).unwrap();
    let t = step(&wf, &t.state, &pause(20)).unwrap();
    let due = Event::RetryDue {
        stage: "a".into(),
        attempt: 2,
        at_ms: 110,
    };
    let t = step(&wf, &t.state, &due).unwrap();
    assert!(t.commands.is_empty(), "{:?}", t.commands);
    assert_eq!(t.state.stages["a"].phase, StagePhase::Pending);
    assert_eq!(t.state.stages["a"].attempts, 1);
    let t = step(&wf, &t.state, &unpause(200)).unwrap();
    assert_eq!(started(&t.commands), vec![("a".into(), 2)]);
    // The retry still counts against the round: a second failure ends the run.
    let t = step(&wf, &t.state, &fail("a", 2, FailureKind::Retryable, 210)).unwrap();
    assert_eq!(t.state.status.name(), "failed");
}

#[test]
fn a_pause_survives_a_restart_and_the_interrupted_attempt_waits_for_the_unpause() {
    let mut merge = stage("merge", &[]);
    merge.delivery = Delivery::AtMostOnce;
    let wf = workflow(vec![merge]);
    let t = start(&wf, &fresh(&wf), 0).unwrap();
    let t = step(&wf, &t.state, &pause(1)).unwrap();
    let t = step(&wf, &t.state, &Event::Resumed { at_ms: 5 }).unwrap();
    assert!(t.commands.is_empty(), "{:?}", t.commands);
    let merge = &t.state.stages["merge"];
    assert_eq!(merge.history[0].outcome, AttemptOutcome::Interrupted);
    assert_eq!(merge.phase, StagePhase::Pending);
    let t = step(&wf, &t.state, &unpause(6)).unwrap();
    assert_eq!(
        t.commands,
        vec![Command::StartAttempt {
            stage: "merge".into(),
            attempt: 2,
            interrupted: true,
            feedback: None
        }]
    );
}

#[test]
fn pausing_twice_unpausing_a_running_run_and_pausing_an_ended_one_are_refused() {
    let wf = workflow(vec![stage("a", &[])]);
    let t = start(&wf, &fresh(&wf), 0).unwrap();
    assert!(matches!(
        step(&wf, &t.state, &unpause(1)),
        Err(Rejected::NotPaused(_))
    ));
    let paused = step(&wf, &t.state, &pause(1)).unwrap().state;
    assert!(matches!(
        step(&wf, &paused, &pause(2)),
        Err(Rejected::AlreadyPaused(_))
    ));
    // The run ends while paused (its one attempt fails): the pause ends with it.
    let ended = step(&wf, &paused, &fail("a", 1, FailureKind::Fatal, 3))
        .unwrap()
        .state;
    assert!(!ended.is_paused());
    assert!(matches!(
        step(&wf, &ended, &pause(4)),
        Err(Rejected::RunFinished { .. })
    ));
}

#[test]
fn a_run_times_out_at_its_deadline_and_not_before() {
    let mut wf = workflow(vec![stage("a", &[]), stage("b", &["a"])]);
    wf.timeout_ms = Some(7_200_000);
    let t = start(&wf, &fresh(&wf), 1_000).unwrap();
    assert!(t.commands.contains(&Command::ScheduleRunTimeout {
        due_at_ms: 7_201_000
    }));
    assert_eq!(t.state.deadline_ms, Some(7_201_000));
    let t = step(&wf, &t.state, &ok("a", 1, 2_000)).unwrap();
    assert!(matches!(
        step(&wf, &t.state, &Event::RunTimedOut { at_ms: 7_200_999 }),
        Err(Rejected::NotDue { .. })
    ));
    let t = step(&wf, &t.state, &Event::RunTimedOut { at_ms: 7_201_000 }).unwrap();
    assert_eq!(
        t.state.status,
        RunStatus::Failed {
            stage: "b".into(),
            message: "run timeout 2h reached".into()
        }
    );
    assert!(t.commands.contains(&Command::CancelAttempt {
        stage: "b".into(),
        attempt: 1
    }));
    assert_eq!(
        t.state.stages["b"].history[0].outcome,
        AttemptOutcome::Cancelled
    );
}

#[test]
fn a_run_resumed_past_its_deadline_fails_without_starting_anything() {
    let mut wf = workflow(vec![stage("a", &[])]);
    wf.timeout_ms = Some(100);
    let t = start(&wf, &fresh(&wf), 0).unwrap();
    let t = step(&wf, &t.state, &Event::Resumed { at_ms: 150 }).unwrap();
    assert!(started(&t.commands).is_empty(), "{:?}", t.commands);
    assert_eq!(t.state.status.name(), "failed");
    assert_eq!(
        t.state.stages["a"].history[0].outcome,
        AttemptOutcome::Interrupted
    );
    // Before its deadline, a resumed run asks for the timer again.
    let t = start(&wf, &fresh(&wf), 0).unwrap();
    let t = step(&wf, &t.state, &Event::Resumed { at_ms: 50 }).unwrap();
    assert!(
        t.commands
            .contains(&Command::ScheduleRunTimeout { due_at_ms: 100 })
    );
}

#[test]
fn retry_from_gives_a_timed_out_run_a_new_window() {
    let mut wf = workflow(vec![stage("a", &[])]);
    wf.timeout_ms = Some(100);
    let t = start(&wf, &fresh(&wf), 0).unwrap();
    let t = step(&wf, &t.state, &Event::RunTimedOut { at_ms: 100 }).unwrap();
    let retry = Event::RetryFrom {
        stage: "a".into(),
        at_ms: 500,
    };
    let t = step(&wf, &t.state, &retry).unwrap();
    assert_eq!(t.state.deadline_ms, Some(600));
    assert!(
        t.commands
            .contains(&Command::ScheduleRunTimeout { due_at_ms: 600 })
    );
    assert_eq!(started(&t.commands), vec![("a".into(), 2)]);
}

#[test]
fn retry_from_names_the_stage_what_follows_it_and_what_did_not_succeed() {
    let mut merge = stage("merge", &["test"]);
    merge.delivery = Delivery::AtMostOnce;
    let wf = workflow(vec![
        stage("plan", &[]),
        stage("code", &["plan"]),
        stage("test", &["code"]),
        merge,
        stage("docs", &["plan"]),
    ]);
    let mut s = start(&wf, &fresh(&wf), 0).unwrap().state;
    for (i, id) in ["plan", "code", "docs", "test"].iter().enumerate() {
        s = step(&wf, &s, &ok(id, 1, i as u64 + 1)).unwrap().state;
    }
    s = step(&wf, &s, &fail("merge", 1, FailureKind::Fatal, 9))
        .unwrap()
        .state;
    assert_eq!(
        retried_stages(&wf, &s, "code"),
        vec!["code".to_string(), "test".into(), "merge".into()]
    );
    assert_eq!(retried_stages(&wf, &s, "merge"), vec!["merge".to_string()]);
    let t = step(
        &wf,
        &s,
        &Event::RetryFrom {
            stage: "code".into(),
            at_ms: 10,
        },
    )
    .unwrap();
    assert_eq!(started(&t.commands), vec![("code".into(), 2)]);
    assert_eq!(t.state.stages["docs"].phase, StagePhase::Succeeded);
    assert_eq!(t.state.stages["plan"].phase, StagePhase::Succeeded);
}

#[test]
fn durations_read_as_the_workflow_writes_them() {
    assert_eq!(duration_text(7_200_000), "2h");
    assert_eq!(duration_text(5_400_000), "1h30m");
    assert_eq!(duration_text(45_000), "45s");
    assert_eq!(duration_text(1_500), "1s500ms");
    assert_eq!(duration_text(0), "0ms");
}

#[test]
fn a_merge_cancelled_part_way_is_retried_as_interrupted_so_it_reconciles() {
    let mut merge = stage("merge", &["code"]);
    merge.delivery = Delivery::AtMostOnce;
    let wf = workflow(vec![stage("code", &[]), merge]);
    let t = start(&wf, &fresh(&wf), 0).unwrap();
    let t = step(&wf, &t.state, &ok("code", 1, 1)).unwrap();
    let cancel = Event::CancelRequested {
        at_ms: 2,
        reason: "stop".into(),
    };
    let t = step(&wf, &t.state, &cancel).unwrap();
    let retry = Event::RetryFrom {
        stage: "merge".into(),
        at_ms: 3,
    };
    let t = step(&wf, &t.state, &retry).unwrap();
    assert_eq!(
        t.commands,
        vec![Command::StartAttempt {
            stage: "merge".into(),
            attempt: 2,
            interrupted: true,
            feedback: None
        }]
    );
}
