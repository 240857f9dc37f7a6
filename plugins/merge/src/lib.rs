//! Built-in stage `merge`: lands the run's branch on its base branch, at most once.
//!
//! ```yaml
//! merge:
//!   uses: builtin:merge
//!   with: { strategy: squash, push: false }
//!   permissions: { workspace: read, exec: [git] }
//!   on_failure: { goto: execute }
//! ```
//!
//! Local mode prepares the merge with plumbing (`merge-tree`, `commit-tree`), never in a
//! checkout, and moves the base by compare-and-swap; PR mode goes through `gh` and trusts
//! only `gh pr view`'s `MERGED`. Both reconcile first, so a crash never merges twice. See
//! docs/merge.md.
#![warn(missing_docs)]

pub mod checkout;
pub mod config;
pub mod facts;
pub mod forward;
pub mod gh;
pub mod glue;
pub mod identity;
pub mod local;
pub mod plumbing;
pub mod pr;
pub mod report;
pub mod runner;
pub mod strategies;
pub mod tips;

#[cfg(test)]
mod tests;

use engine_stage_sdk::{
    Context, Delivery, Descriptor, Permissions, Stage, StageError, Success, WorkspaceAccess,
};

use config::{MergeConfig, Mode};
use facts::RunFacts;
use runner::Runner;

/// The merge stage.
pub struct Merge;

impl Stage for Merge {
    type Config = MergeConfig;

    fn describe() -> Descriptor {
        Descriptor::new(
            "merge",
            env!("CARGO_PKG_VERSION"),
            "Merges the run's branch into its base branch (locally or through a PR), at most once",
        )
        .config_schema(&config::schema())
        .permissions(Permissions {
            workspace: WorkspaceAccess::Read,
            // PR mode also needs `gh` and `sleep`, granted by the workflow.
            exec: vec!["git".to_string()],
            agent: false,
            net: Vec::new(),
        })
        .delivery(Delivery::AtMostOnce)
    }

    fn run(ctx: Context<MergeConfig>) -> Result<Success, StageError> {
        let Some(git) = ctx.git.as_ref() else {
            return Err(StageError::fatal(
                "builtin:merge needs a run in a git worktree (the run has no branch)",
            ));
        };
        let facts = RunFacts {
            run_id: ctx.run_id.clone(),
            task_id: ctx.task.id.clone(),
            task_title: ctx.task.title.clone(),
            task_body: ctx.task.body.clone(),
            branch: git.branch.clone(),
            base_branch: git.base_branch.clone(),
            base_commit: git.base_commit.clone(),
            repo_root: git.repo_root.clone(),
            interrupted: ctx.interrupted,
        };
        run_merge(&glue::SdkRunner, &ctx.config, &facts)
    }
}

/// Runs the stage's logic over any [`Runner`]: validates the config, then merges locally or
/// through a PR.
pub fn run_merge<R: Runner + ?Sized>(
    runner: &R,
    config: &MergeConfig,
    facts: &RunFacts,
) -> Result<Success, StageError> {
    config
        .validate()
        .map_err(|e| StageError::fatal(format!("invalid merge config: {e}")))?;
    let report = match config.mode {
        Mode::Local => {
            let message = config
                .message
                .clone()
                .unwrap_or_else(|| plumbing::default_message(&facts.task_title, &facts.task_body));
            local::merge(runner, config, facts, &message)?
        }
        Mode::Pr => pr::merge(runner, config, facts)?,
    };
    Ok(report.into_success())
}

engine_stage_sdk::export_stage!(Merge);
