//! Cost as history grows (issue 16, point 4): what engine reads per task and per command from a
//! state directory holding 20 and 1,000 finished runs of the default workflow (its stored
//! YAML, its stages, an agent's spend on each attempt, a tasks-md task link).
//!
//! - `history/day_spend/N`: the day budget's spend of every run today, read before every agent
//!   attempt (and `check_day_budget` before every new run).
//! - `history/list/N`: `store.list()`, every run decoded.
//! - `history/known/N`: what `engine run --all` reads per task to pick the next one
//!   (`known_from_runs` over the runs' summaries).
//! - `history/open/N`: taking the state directory (every command and run does, once).
//! - `history/cli_runs/N`, `history/cli_runs_limit/N`, `history/cli_show/N`,
//!   `history/cli_show_latest/N`: the `engine runs`, `engine runs --limit 20`, `engine show <id>`
//!   and `engine show` (the latest run) processes, start to exit.
//!
//! Run with `cargo bench -p engine --bench history`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "bench code: a failed unwrap is a failed bench, with its message"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_main};
use engine_core::{Event, RunState, Spend, Task, step};
use engine_store::{RunMeta, StateDir, Store, TaskLink};

/// The sizes of history measured.
const SIZES: [usize; 2] = [20, 1000];

/// Milliseconds in a day.
const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// The default workflow, as `engine init` writes it (with `budget.day_usd`).
fn default_workflow() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../workflows/default.yaml");
    std::fs::read_to_string(path).expect("workflows/default.yaml")
}

/// Fills the state directory `dir` with `runs` finished runs, one every 5 minutes up to `now_ms`
/// (the last day's runs, and older ones), each stepped through the workflow by the state machine
/// with every attempt succeeding at a cost. Returns the newest run's id.
fn fill(dir: &Path, runs: usize, now_ms: u64) -> String {
    let yaml = default_workflow();
    let workflow = engine_workflow::load_str("default.yaml", dir, &yaml)
        .expect("default workflow")
        .workflow;
    let state_dir = StateDir::open_locked(dir, "bench fill").expect("state dir");
    let store = state_dir.store();
    let mut last = String::new();
    for i in 0..runs {
        let at = now_ms - (runs - i) as u64 * 5 * 60 * 1000;
        let run_id = ulid::Ulid::from_parts(at, i as u128).to_string();
        let task = Task {
            id: format!("T-{}", i % 20),
            title: format!("Task number {i}: add a flag to the export command"),
            body: "Add a `--json` flag to the export command that prints the rows as a JSON \
                   array; keep the table output the default. Update the docs and the tests."
                .into(),
            labels: vec!["cli".into()],
        };
        let meta = RunMeta {
            run_id: run_id.clone(),
            workflow_file: dir.join("workflow.yaml"),
            workflow_name: "default".into(),
            workflow_source: yaml.clone(),
            created_at_ms: at,
            repo_root: dir.to_path_buf(),
            worktree: None,
            branch: format!("engine/t-{i}-add-a-flag"),
            base_branch: "main".into(),
            base_commit: "0".repeat(40),
            task_source: Some(TaskLink {
                source: "builtin:tasks-md".into(),
                written_back: Some("done".into()),
            }),
        };
        let mut state = RunState::new(run_id.clone(), task, &workflow);
        store.create_run(&meta, &state).expect("create");
        let apply = |state: &mut RunState, event: Event| {
            let next = step(&workflow, state, &event).expect("accepted").state;
            store.commit(&run_id, &event, &next).expect("commit");
            *state = next;
        };
        apply(&mut state, Event::RunStarted { at_ms: at });
        for _ in 0..100 {
            let running: Vec<(String, u32)> = state
                .stages
                .iter()
                .filter_map(|(id, s)| s.running_attempt().map(|a| (id.clone(), a)))
                .collect();
            if running.is_empty() {
                break;
            }
            for (stage, attempt) in running {
                let event = Event::AttemptSucceeded {
                    stage: stage.clone(),
                    attempt,
                    at_ms: at + 1000,
                    summary: format!("{stage} done"),
                    outputs: serde_json::json!({ "tier": "smart", "verdict": "approve" }),
                    commits: vec!["1".repeat(40)],
                    spend: Spend {
                        cost_usd: 0.0125,
                        cost_known: true,
                        input_tokens: 12_000,
                        output_tokens: 3_000,
                        cache_read_tokens: 40_000,
                        cache_write_tokens: 0,
                        cost_estimated: false,
                    },
                };
                apply(&mut state, event);
            }
        }
        assert!(state.status.is_terminal(), "run {i} did not end: {state:?}");
        last = run_id;
    }
    last
}

fn now_ms() -> u64 {
    u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis(),
    )
    .expect("ms")
}

fn history(c: &mut Criterion) {
    let now = now_ms();
    // Noon UTC today: the last day's runs straddle midnight for the larger history.
    let noon = now - now % DAY_MS + DAY_MS / 2;
    let mut group = c.benchmark_group("history");
    let tmp = tempfile::tempdir().expect("tempdir");
    // `HISTORY_BENCH_DIR=/some/dir` fills the state directories there and keeps them (to
    // profile the commands on them).
    let root = std::env::var_os("HISTORY_BENCH_DIR")
        .map_or_else(|| tmp.path().to_path_buf(), PathBuf::from);
    let mut dirs: Vec<(usize, PathBuf, String)> = Vec::new();
    for runs in SIZES {
        let dir = root.join(format!("state-{runs}"));
        let last = fill(&dir, runs, noon);
        dirs.push((runs, dir, last));
    }
    for (runs, dir, _) in &dirs {
        let state_dir = StateDir::open_locked(dir, "bench").expect("state dir");
        let store = state_dir.store();
        group.bench_with_input(BenchmarkId::new("day_spend", runs), runs, |b, _| {
            b.iter(|| engine::agents::budget::check_day_budget(store, Some(1e9), noon).unwrap());
        });
        group.bench_with_input(BenchmarkId::new("list", runs), runs, |b, _| {
            b.iter(|| store.list().unwrap());
        });
        group.bench_with_input(BenchmarkId::new("known", runs), runs, |b, _| {
            b.iter(|| {
                let summaries = store.summaries().unwrap();
                engine::queue::known_from_runs(&summaries, "builtin:tasks-md", false)
            });
        });
    }
    for (runs, dir, _) in &dirs {
        group.bench_with_input(BenchmarkId::new("open", runs), runs, |b, _| {
            b.iter(|| drop(StateDir::open_locked(dir, "bench").expect("state dir")));
        });
    }
    for (runs, dir, last) in &dirs {
        let engine = |args: &[&str]| {
            let status = Command::new(env!("CARGO_BIN_EXE_engine"))
                .arg("--state-dir")
                .arg(dir)
                .args(args)
                .current_dir(tmp.path())
                .stdout(Stdio::null())
                .status()
                .expect("engine");
            assert!(status.success(), "engine {args:?}");
        };
        group.bench_with_input(BenchmarkId::new("cli_runs", runs), runs, |b, _| {
            b.iter(|| engine(&["runs"]));
        });
        group.bench_with_input(BenchmarkId::new("cli_runs_limit", runs), runs, |b, _| {
            b.iter(|| engine(&["runs", "--limit", "20"]));
        });
        group.bench_with_input(BenchmarkId::new("cli_show", runs), runs, |b, _| {
            b.iter(|| engine(&["show", last]));
        });
        group.bench_with_input(BenchmarkId::new("cli_show_latest", runs), runs, |b, _| {
            b.iter(|| engine(&["show"]));
        });
    }
    group.finish();
}

/// The group `criterion_main!` runs, in a private module because the function
/// `criterion_group!` generates cannot carry a doc comment.
mod group {
    use super::{Criterion, Duration};

    criterion::criterion_group! {
        name = benches;
        config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3));
        targets = super::history
    }
}
criterion_main!(group::benches);
