//! Values the crate's unit tests share (compiled for tests only).

use engine_store::RunMeta;

/// The fixed facts of run `run_id` of workflow `wf` in repository `/r`, on `branch` from
/// `main`, with no worktree and no task source (tests change what they need).
pub(crate) fn run_meta(run_id: &str, branch: &str) -> RunMeta {
    RunMeta {
        run_id: run_id.into(),
        workflow_file: "/r/wf.yaml".into(),
        workflow_name: "wf".into(),
        workflow_source: String::new(),
        created_at_ms: 0,
        repo_root: "/r".into(),
        worktree: None,
        branch: branch.into(),
        base_branch: "main".into(),
        base_commit: "0".repeat(40),
        task_source: None,
    }
}
