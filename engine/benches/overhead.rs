//! Engine overhead benchmarks (issue targets: < 1 ms per no-op stage, < 20 ms for a cold
//! `engine validate` with cached components).
//!
//! - `noop_stage`: everything the engine does around a stage that does nothing, in a 20-stage
//!   pipeline: a fresh sandboxed instance of a pre-instantiated component, the `run` call, the
//!   state-machine step and the durable (fsync'd) sled commit of the transition.
//! - `noop_attempt` and `durable_transition`: those two parts measured apart.
//! - `durable_transition_mirrored`: the same transition through a store that also rewrites the
//!   run's read-only JSON mirror, as the process holding a state directory does (the difference
//!   to `durable_transition` is the mirror's cost).
//! - `validate_cold_process`: the real `engine validate` binary started as a new process on a
//!   two-stage workflow, with compiled components already in the on-disk cache.
//!
//! Run with `cargo bench -p engine --bench overhead`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and bench code: a failed unwrap is a failed test, with its message"
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_main};
use engine_core::{Event, Permissions, RunState, Task, step};
use engine_runtime::{
    AttemptContext, AttemptObserver, AttemptRequest, Host, HostOptions, LogLevel,
};
use engine_store::{RunMeta, SledStore, Store};

struct Silent;

impl AttemptObserver for Silent {
    fn log(&self, _: LogLevel, _: &str) {}
    fn progress(&self, _: &str, _: Option<f32>) {}
    fn exec_started(&self, _: &str, _: &[String]) {}
    fn exec_finished(&self, _: &str, _: Option<i32>, _: Duration) {}
}

/// Stages in the benchmark pipeline: a realistic snapshot size (a run is recreated every 20
/// stages, so that cost is included at 1/20 per stage).
const PIPELINE_STAGES: usize = 20;

fn noop_stage(c: &mut Criterion) {
    let fixtures = engine_testkit::build_fixture_plugins().expect("fixture plugins");
    let bytes = std::fs::read(fixtures.join("fixture_echo.wasm")).expect("fixture_echo.wasm");
    let tmp = tempfile::tempdir().expect("tempdir");
    let host = Host::new(HostOptions {
        cache_dir: tmp.path().join("cache"),
    })
    .expect("host");
    let stage = Arc::new(host.load(&bytes, "fixture_echo").expect("load"));
    let store = SledStore::open(&tmp.path().join("db")).expect("store");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");

    // A chain of no-op stages; every stage runs the same no-op component (the state machine
    // does not look at `uses`).
    let mut yaml = String::from("name: bench\nstages:\n");
    for i in 0..PIPELINE_STAGES {
        let _ = writeln!(yaml, "  s{i}:\n    uses: builtin:gate");
        if i > 0 {
            let _ = writeln!(yaml, "    needs: [s{}]", i - 1);
        }
    }
    let workflow = engine_workflow::load_str("bench.yaml", tmp.path(), &yaml)
        .expect("bench workflow")
        .workflow;
    let mut runs = 0u64;
    let mut state: Option<RunState> = None;

    c.bench_function("noop_stage", |b| {
        b.iter(|| {
            let current = match state.take() {
                Some(s) if !s.status.is_terminal() => s,
                _ => {
                    runs += 1;
                    let run_id = format!("01BENCH{runs:019}");
                    let fresh = RunState::new(run_id.clone(), Task::default(), &workflow);
                    store
                        .create_run(&bench_meta(&run_id, tmp.path(), &yaml), &fresh)
                        .expect("create run");
                    let started = Event::RunStarted { at_ms: 0 };
                    let t = step(&workflow, &fresh, &started).expect("start");
                    store.commit(&run_id, &started, &t.state).expect("commit");
                    t.state
                }
            };
            let (stage_id, attempt) = current
                .stages
                .iter()
                .find_map(|(id, s)| s.running_attempt().map(|a| (id.clone(), a)))
                .expect("a stage is running");
            let request = AttemptRequest {
                context: AttemptContext {
                    run_id: current.run_id.clone(),
                    stage_id: stage_id.clone(),
                    attempt,
                    task: Task::default(),
                    config: serde_json::json!({}),
                    outputs: BTreeMap::default(),
                    feedback: None,
                    interrupted: false,
                    previous_failure: None,
                    git: None,
                },
                workspace: None,
                permissions: Permissions::default(),
                timeout: Duration::from_secs(10),
                memory_limit_bytes: 64 << 20,
                exec_env: vec![],
                confinement: None,
                observer: Arc::new(Silent),
                agent: None,
            };
            let success = runtime
                .block_on(host.run_attempt(&stage, request))
                .expect("no-op stage succeeds");
            let event = Event::AttemptSucceeded {
                stage: stage_id,
                attempt,
                at_ms: 1,
                summary: success.summary,
                outputs: success.outputs,
                commits: vec![],
                spend: engine_core::Spend::NONE,
            };
            let t = step(&workflow, &current, &event).expect("accepted");
            store
                .commit(&current.run_id, &event, &t.state)
                .expect("commit");
            state = Some(t.state);
        });
    });
}

/// The parts of `noop_stage`, measured apart: the sandboxed attempt alone, and one durable
/// (fsync'd) transition alone. A stage in a real run costs one attempt plus one transition.
fn noop_stage_parts(c: &mut Criterion) {
    let fixtures = engine_testkit::build_fixture_plugins().expect("fixture plugins");
    let bytes = std::fs::read(fixtures.join("fixture_echo.wasm")).expect("fixture_echo.wasm");
    let tmp = tempfile::tempdir().expect("tempdir");
    let host = Host::new(HostOptions {
        cache_dir: tmp.path().join("cache"),
    })
    .expect("host");
    let stage = Arc::new(host.load(&bytes, "fixture_echo").expect("load"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    c.bench_function("noop_attempt", |b| {
        b.iter(|| {
            let request = AttemptRequest {
                context: AttemptContext {
                    run_id: "run".into(),
                    stage_id: "noop".into(),
                    attempt: 1,
                    task: Task::default(),
                    config: serde_json::json!({}),
                    outputs: BTreeMap::default(),
                    feedback: None,
                    interrupted: false,
                    previous_failure: None,
                    git: None,
                },
                workspace: None,
                permissions: Permissions::default(),
                timeout: Duration::from_secs(10),
                memory_limit_bytes: 64 << 20,
                exec_env: vec![],
                confinement: None,
                observer: Arc::new(Silent),
                agent: None,
            };
            runtime
                .block_on(host.run_attempt(&stage, request))
                .expect("no-op stage succeeds")
        });
    });

    let store = SledStore::open(&tmp.path().join("db")).expect("store");
    let yaml = "name: bench\nstages:\n  noop:\n    uses: builtin:gate\n";
    let workflow = engine_workflow::load_str("bench.yaml", tmp.path(), yaml)
        .expect("bench workflow")
        .workflow;
    let run_id = "01BENCHCOMMIT0000000000000";
    let mut state = RunState::new(run_id, Task::default(), &workflow);
    store
        .create_run(&bench_meta(run_id, tmp.path(), yaml), &state)
        .expect("create run");
    c.bench_function("durable_transition", |b| {
        b.iter(|| {
            // The event is stored with a snapshot like a real one; the state machine's own cost
            // is included.
            let event = Event::RunStarted { at_ms: 0 };
            let mut next = state.clone();
            next.seq += 1;
            store.commit(run_id, &event, &next).expect("commit");
            state = next;
        });
    });
}

/// `durable_transition` on stores without (`transition/plain`) and with
/// (`transition/mirrored`) the read-only run mirror. Runs are restarted every 50 transitions so
/// the mirror (which carries the event log) has a realistic size.
fn mirrored_transition(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let yaml = "name: bench\nstages:\n  noop:\n    uses: builtin:gate\n";
    let workflow = engine_workflow::load_str("bench.yaml", tmp.path(), yaml)
        .expect("bench workflow")
        .workflow;
    let plain = SledStore::open(&tmp.path().join("plain")).expect("store");
    let mirrored = SledStore::open(&tmp.path().join("db"))
        .expect("store")
        .mirror_to(tmp.path().join("mirror"));
    let mut group = c.benchmark_group("transition");
    for (name, store) in [("plain", &plain), ("mirrored", &mirrored)] {
        let mut runs = 0u64;
        let mut state: Option<RunState> = None;
        group.bench_function(name, |b| {
            b.iter(|| {
                let current = match state.take() {
                    Some(s) if s.seq < 50 => s,
                    _ => {
                        runs += 1;
                        let run_id = format!("01BENCHMIRROR{runs:013}");
                        let fresh = RunState::new(run_id.clone(), Task::default(), &workflow);
                        store
                            .create_run(&bench_meta(&run_id, tmp.path(), yaml), &fresh)
                            .expect("create run");
                        fresh
                    }
                };
                let event = Event::RunStarted { at_ms: 0 };
                let mut next = current.clone();
                next.seq += 1;
                store
                    .commit(&current.run_id, &event, &next)
                    .expect("commit");
                state = Some(next);
            });
        });
    }
    group.finish();
}

fn bench_meta(run_id: &str, dir: &std::path::Path, yaml: &str) -> RunMeta {
    RunMeta {
        run_id: run_id.into(),
        workflow_file: PathBuf::from("bench.yaml"),
        workflow_name: "bench".into(),
        workflow_source: yaml.into(),
        created_at_ms: 0,
        repo_root: dir.to_path_buf(),
        worktree: None,
        branch: "engine/bench".into(),
        base_branch: "main".into(),
        base_commit: "0".repeat(40),
        task_source: None,
    }
}

fn validate_cold_process(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let workflow = tmp.path().join("workflow.yaml");
    std::fs::write(
        &workflow,
        r#"
name: bench
stages:
  lint:
    uses: builtin:gate
    with: { commands: ["sh -n x.sh"] }
    permissions: { workspace: read, exec: [sh] }
  test:
    uses: builtin:gate
    needs: [lint]
    with: { commands: ["sh x.sh"] }
    permissions: { workspace: read, exec: [sh] }
"#,
    )
    .expect("write workflow");
    let cache = tmp.path().join("cache");
    let run = || {
        let status = Command::new(env!("CARGO_BIN_EXE_engine"))
            .args(["validate", workflow.to_str().expect("utf-8 path")])
            .env("ENGINE_CACHE_DIR", &cache)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("engine validate");
        assert!(status.success());
    };
    run(); // fills the component cache
    c.bench_function("validate_cold_process", |b| b.iter(run));
}

/// The group `criterion_main!` runs, in a private module because the function
/// `criterion_group!` generates cannot carry a doc comment.
mod group {
    use super::{Criterion, Duration};

    criterion::criterion_group! {
        name = benches;
        config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(5));
        targets = super::noop_stage, super::noop_stage_parts, super::mirrored_transition,
            super::validate_cold_process
    }
}
criterion_main!(group::benches);
