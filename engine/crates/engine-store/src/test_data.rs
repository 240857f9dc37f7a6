//! Records for tests.

use std::collections::BTreeMap;
use std::path::PathBuf;

use engine_core::{Event, RunState, RunStatus, StageState, Task};

use crate::RunMeta;

/// File names in `dir`, sorted.
pub(crate) fn file_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// The meta of a run called `run_id`.
pub(crate) fn meta(run_id: &str) -> RunMeta {
    RunMeta {
        run_id: run_id.to_string(),
        workflow_file: PathBuf::from("/repo/workflow.yaml"),
        workflow_name: "ci".to_string(),
        workflow_source: "name: ci\nstages: {}\n".to_string(),
        created_at_ms: 1_700_000_000_000,
        repo_root: PathBuf::from("/repo"),
        worktree: Some(PathBuf::from(format!("/repo/.engine/worktrees/{run_id}"))),
        branch: format!("engine/{run_id}"),
        base_branch: "main".to_string(),
        base_commit: "0123456789abcdef0123456789abcdef01234567".to_string(),
        task_source: None,
    }
}

/// A distinct state of run `run_id` after `seq` events.
pub(crate) fn state(run_id: &str, seq: u64) -> RunState {
    let mut build = StageState::new();
    build.attempts = u32::try_from(seq).unwrap_or(u32::MAX);
    RunState {
        run_id: run_id.to_string(),
        task: Task {
            id: "T-1".to_string(),
            title: "Do it".to_string(),
            body: "All of it.".to_string(),
            labels: vec!["x".to_string()],
        },
        status: if seq == 0 {
            RunStatus::Pending
        } else {
            RunStatus::Running
        },
        stages: BTreeMap::from([("build".to_string(), build)]),
        seq,
        started_at_ms: (seq > 0).then_some(1_000),
        finished_at_ms: None,
        finally: BTreeMap::new(),
        paused_at_ms: None,
        deadline_ms: None,
    }
}

/// A distinct event number `seq`.
pub(crate) fn event(seq: u64) -> Event {
    if seq == 1 {
        Event::RunStarted { at_ms: 1_000 }
    } else {
        Event::RetryDue {
            stage: "build".to_string(),
            attempt: u32::try_from(seq).unwrap_or(u32::MAX),
            at_ms: 1_000 + seq,
        }
    }
}
