//! Engine overhead benchmarks (issue targets: < 1 ms per no-op stage, < 20 ms for a cold
//! `engine validate` with cached components).
//!
//! - `noop_stage`: everything the engine does around a stage that does nothing: a fresh sandboxed
//!   instance of a pre-instantiated component, the `run` call, the state-machine step and the
//!   durable (fsync'd) sled commit of the transition.
//! - `validate_cold_process`: the real `engine validate` binary started as a new process on a
//!   two-stage workflow, with compiled components already in the on-disk cache.
//!
//! Run with `cargo bench -p engine --bench overhead`.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use engine_core::{Event, RunState, Task, step};
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

fn noop_stage(c: &mut Criterion) {
    let fixtures = engine_runtime::testing::build_fixture_plugins().expect("fixture plugins");
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

    // A one-stage workflow whose single stage we run over and over: each iteration is one
    // attempt + one durable transition (the run is restarted from its snapshot each time).
    let yaml = r#"
name: bench
stages:
  noop:
    uses: builtin:gate
"#;
    let loaded = engine_workflow::load_str("bench.yaml", tmp.path(), yaml).expect("bench workflow");
    let workflow = loaded.workflow;
    let run_id = "01BENCH000000000000000000";
    let initial = RunState::new(run_id, Task::default(), &workflow);
    let meta = RunMeta {
        run_id: run_id.into(),
        workflow_file: PathBuf::from("bench.yaml"),
        workflow_name: "bench".into(),
        workflow_source: yaml.into(),
        created_at_ms: 0,
        repo_root: tmp.path().to_path_buf(),
        worktree: None,
        branch: "engine/bench".into(),
        base_branch: "main".into(),
        base_commit: "0".repeat(40),
    };
    store.create_run(&meta, &initial).expect("create run");
    let started = step(&workflow, &initial, &Event::RunStarted { at_ms: 0 }).expect("start");
    store
        .commit(run_id, &Event::RunStarted { at_ms: 0 }, &started.state)
        .expect("commit");
    let mut state = started.state;

    c.bench_function("noop_stage", |b| {
        b.iter(|| {
            let request = AttemptRequest {
                context: AttemptContext {
                    run_id: run_id.into(),
                    stage_id: "noop".into(),
                    attempt: state.stages["noop"].attempts,
                    task: Task::default(),
                    config: serde_json::json!({}),
                    outputs: Default::default(),
                    feedback: None,
                    interrupted: false,
                    previous_failure: None,
                },
                workspace: None,
                permissions: Default::default(),
                timeout: Duration::from_secs(10),
                memory_limit_bytes: 64 << 20,
                exec_env: vec![],
                observer: Arc::new(Silent),
                agent: None,
            };
            let result = runtime.block_on(host.run_attempt(&stage, request));
            let attempt = state.stages["noop"].attempts;
            // A retryable failure keeps the stage cycling: fail, retry due, run again. For
            // the measurement we use the success path and reset by `RetryFrom`.
            let success = result.expect("no-op stage succeeds");
            let event = Event::AttemptSucceeded {
                stage: "noop".into(),
                attempt,
                at_ms: 1,
                summary: success.summary,
                outputs: success.outputs,
            };
            let t = step(&workflow, &state, &event).expect("accepted");
            store.commit(run_id, &event, &t.state).expect("commit");
            let again = Event::RetryFrom {
                stage: "noop".into(),
                at_ms: 2,
            };
            let t2 = step(&workflow, &t.state, &again).expect("retry from");
            store.commit(run_id, &again, &t2.state).expect("commit");
            state = t2.state;
        })
    });
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

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(5));
    targets = noop_stage, validate_cold_process
}
criterion_main!(benches);
