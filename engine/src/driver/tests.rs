//! The driver on a clock the test moves: a retry an hour away and an approval that times out
//! after an hour both happen without the test waiting for them.

use std::path::Path;
use std::process::Command as Process;
use std::sync::Arc;
use std::time::Duration;

use engine_core::{AttemptOutcome, Command, Event, RunState, RunStatus, Task};
use engine_git::Repo;
use engine_runtime::{Host, HostOptions, LogLevel};
use engine_store::{RunMeta, StateDir};
use tokio::sync::mpsc;

use crate::project::PreparedWorkflow;
use crate::queue::{Begun, DriveOptions, Lifecycle, LifecycleSetup, RunEnd, RunRequest};
use crate::report::{Quiet, Reporter};
use crate::time::{Clock, TestClock};

/// Where the test clock starts: any fixed time.
const T0: u64 = 1_700_000_000_000;
const HOUR_MS: u64 = 3_600_000;

/// A repository with one commit on `main`, and a state directory beside it.
struct Scene {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    state: std::path::PathBuf,
}

impl Scene {
    fn new() -> Scene {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir_all(&root).unwrap();
        git(&root, &["init", "-q", "-b", "main"]);
        std::fs::write(root.join("README.md"), "hello\n").unwrap();
        git(&root, &["add", "README.md"]);
        git(&root, &["commit", "-q", "-m", "init"]);
        let state = dir.path().join("state");
        Scene {
            _dir: dir,
            root,
            state,
        }
    }

    /// A lifecycle of runs of `yaml` on `clock`.
    async fn lifecycle(&self, yaml: &str, clock: Arc<dyn Clock>) -> Arc<Lifecycle> {
        let workflow_file = self.root.join("wf.yaml");
        let loaded =
            engine_workflow::load_str(&workflow_file.display().to_string(), &self.root, yaml)
                .unwrap();
        let host = Arc::new(
            Host::new(HostOptions {
                cache_dir: std::env::temp_dir().join("engine-unit-test-component-cache"),
            })
            .unwrap(),
        );
        let prepared = PreparedWorkflow::prepare_unconfined(&host, loaded)
            .await
            .unwrap();
        Arc::new(Lifecycle::new(LifecycleSetup {
            repo: Repo::discover(&self.root).unwrap(),
            state_dir: Arc::new(StateDir::open_locked(&self.state, "driver test").unwrap()),
            host,
            prepared: Arc::new(prepared),
            workflow_file,
            source: None,
            base: None,
            labels: Vec::new(),
            retry_failed: true,
            clock,
            reporter: Arc::new(Quiet),
        }))
    }
}

#[track_caller]
fn git(dir: &Path, args: &[&str]) {
    let out = Process::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

/// Tells the test about every stored transition: the event's kind and the commands that follow.
struct Transitions(mpsc::UnboundedSender<(String, Vec<Command>)>);

impl Reporter for Transitions {
    fn run_started(&self, _: &RunMeta, _: bool) {}
    fn transition(&self, event: &Event, _: &RunState, commands: &[Command]) {
        let _ = self.0.send((event.kind().to_string(), commands.to_vec()));
    }
    fn stage_log(&self, _: &str, _: u32, _: LogLevel, _: &str) {}
}

/// Begins a run of `lifecycle`'s workflow for an inline task and drives it in a task of its
/// own, progress to `reporter`.
async fn spawn_run(
    lifecycle: &Arc<Lifecycle>,
    reporter: Arc<dyn Reporter>,
) -> tokio::task::JoinHandle<RunEnd> {
    let task = Task {
        id: "t1".into(),
        title: "a task".into(),
        body: String::new(),
        labels: Vec::new(),
    };
    let Begun::Run(started) = lifecycle.begin(RunRequest::Inline(task)).await.unwrap() else {
        panic!("an inline run is never refused");
    };
    let options = DriveOptions {
        reporter,
        handle_signals: false,
        stop: None,
        lanes: None,
        slots: None,
    };
    let lifecycle = lifecycle.clone();
    tokio::spawn(async move { lifecycle.run_to_end(*started, options).await.unwrap() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_an_hour_away_runs_at_once_with_the_hour_passed_on_the_clock() {
    let scene = Scene::new();
    let marker = scene.root.parent().unwrap().join("tried");
    // The first attempt outlives the command's time limit (a retryable failure); the second
    // finds the marker and succeeds.
    let yaml = format!(
        r#"
name: retried
sandbox: {{ enabled: false }}
stages:
  flaky:
    uses: builtin:gate
    permissions: {{ workspace: read, exec: [sh] }}
    retry: {{ max_attempts: 2, initial_interval: 1h, max_interval: 1h }}
    with:
      timeout: 300ms
      commands: [["sh", "-c", "test -e {marker} || {{ touch {marker}; exec sleep 60; }}"]]
"#,
        marker = marker.display()
    );
    let clock = TestClock::jumping(T0);
    let lifecycle = scene.lifecycle(&yaml, clock.clone()).await;
    let end = spawn_run(&lifecycle, Arc::new(Quiet)).await.await.unwrap();

    let state = &end.driven.state;
    assert_eq!(state.status, RunStatus::Succeeded, "{state:#?}");
    let history = &state.stages["flaky"].history;
    assert_eq!(history.len(), 2, "{history:#?}");
    let AttemptOutcome::Failed { failure } = &history[0].outcome else {
        panic!("the first attempt failed: {history:#?}");
    };
    assert!(failure.kind.is_retryable(), "{failure:?}");
    assert!(matches!(
        history[1].outcome,
        AttemptOutcome::Succeeded { .. }
    ));
    let failed_at = history[0].ended_at_ms.unwrap();
    assert_eq!(failed_at, T0);
    assert_eq!(history[1].started_at_ms, failed_at + HOUR_MS);
    assert_eq!(clock.now_ms(), T0 + HOUR_MS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_times_out_when_the_clock_passes_its_deadline() {
    let scene = Scene::new();
    let yaml = "
name: approved
sandbox: { enabled: false }
stages:
  ship:
    uses: builtin:approval
    with: { timeout: 1h, on_timeout: approve }
";
    let clock = TestClock::manual(T0);
    let lifecycle = scene.lifecycle(yaml, clock.clone()).await;
    let (tx, mut transitions) = mpsc::unbounded_channel();
    let run = spawn_run(&lifecycle, Arc::new(Transitions(tx))).await;

    // The wait is stored before the clock moves: the deadline is an hour from the start.
    let deadline = loop {
        let (_, commands) = transitions.recv().await.unwrap();
        let waits = commands.iter().find_map(|c| match c {
            Command::AwaitApproval { deadline_ms, .. } => Some(*deadline_ms),
            _ => None,
        });
        if let Some(deadline) = waits {
            break deadline;
        }
    };
    assert_eq!(deadline, Some(T0 + HOUR_MS));
    clock.advance(Duration::from_millis(HOUR_MS));
    let end = run.await.unwrap();

    let state = &end.driven.state;
    assert_eq!(state.status, RunStatus::Succeeded, "{state:#?}");
    let record = &state.stages["ship"].history[0];
    assert_eq!(
        record.outcome,
        AttemptOutcome::Succeeded {
            summary: "approved: nobody answered in time".into()
        }
    );
    assert_eq!(record.ended_at_ms, Some(T0 + HOUR_MS));
    let (kind, _) = transitions.recv().await.unwrap();
    assert_eq!(kind, "approval_timed_out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_past_its_timeout_is_cancelled_and_fails_without_the_test_waiting() {
    let scene = Scene::new();
    // The stage would run for a minute; the run's timeout, an hour on the test clock, is
    // reached at once.
    let yaml = "
name: timed
sandbox: { enabled: false }
timeout: 1h
stages:
  slow:
    uses: builtin:gate
    permissions: { workspace: read, exec: [sleep] }
    with: { commands: [[\"sleep\", \"60\"]] }
  after:
    uses: builtin:gate
    needs: [slow]
    permissions: { workspace: read, exec: [sleep] }
    with: { commands: [[\"sleep\", \"0\"]] }
";
    let clock = TestClock::jumping(T0);
    let lifecycle = scene.lifecycle(yaml, clock.clone()).await;
    let end = spawn_run(&lifecycle, Arc::new(Quiet)).await.await.unwrap();

    let state = &end.driven.state;
    assert_eq!(
        state.status,
        RunStatus::Failed {
            stage: "slow".into(),
            message: "run timeout 1h reached".into()
        },
        "{state:#?}"
    );
    assert_eq!(state.deadline_ms, Some(T0 + HOUR_MS));
    assert_eq!(state.finished_at_ms, Some(T0 + HOUR_MS));
    let history = &state.stages["slow"].history;
    assert_eq!(history.len(), 1, "{history:#?}");
    assert_eq!(history[0].outcome, AttemptOutcome::Cancelled);
    assert!(state.stages["after"].history.is_empty());
}
