//! Built-in stage `review`: reviewer personas read the run's change and approve it or send
//! findings back to the stage that made it.
//!
//! ```yaml
//! review:
//!   uses: builtin:review
//!   needs: [execute]
//!   with: { personas: [quality, security, tests], require: all }
//!   permissions: { workspace: read, agent: true, exec: [git] }
//!   on_failure: { goto: execute, max_loops: 2 }
//! ```
//!
//! Each persona reviews `git diff <base>...HEAD` (the whole run, not just the last commit) in
//! its own read-only agent session; the sessions run in parallel ([`sessions`]) and answer with
//! a JSON verdict ([`verdict`]). The verdicts are aggregated under `require` and `block_on`
//! ([`aggregate`]): an approval succeeds with the findings as outputs, a rejection fails
//! fatally with the findings as readable feedback ([`report`]), and a persona without a verdict
//! makes the attempt fail retryably (fatally when its session ended auth-failed,
//! quota-exhausted or misconfigured: retrying cannot help): it never counts as an approval.
//! Everything but [`glue`] is plain Rust, tested on the host. See `docs/review.md`.
#![warn(missing_docs)]

pub mod aggregate;
pub mod checks;
pub mod config;
pub mod diff;
pub mod glue;
pub mod host;
pub mod personas;
pub mod prompt;
pub mod report;
pub mod review;
pub mod schema;
pub mod sessions;
pub mod verdict;

#[cfg(test)]
mod tests;

use engine_stage_sdk::{
    Context, Delivery, Descriptor, Permissions, Stage, StageError, Success, WorkspaceAccess,
};

use config::ReviewConfig;
use prompt::TaskText;
use review::RunFacts;

/// The review stage.
pub struct ReviewStage;

impl ReviewStage {
    /// What `describe` returns.
    pub fn descriptor() -> Descriptor {
        Descriptor::new(
            "review",
            env!("CARGO_PKG_VERSION"),
            "Reviewer personas read the run's change in parallel and approve it or send findings back",
        )
        .config_schema(&schema::schema())
        .permissions(Permissions {
            workspace: WorkspaceAccess::Read,
            exec: vec!["git".to_string()],
            agent: true,
            net: Vec::new(),
        })
        .delivery(Delivery::AtLeastOnce)
    }
}

impl Stage for ReviewStage {
    type Config = ReviewConfig;

    fn describe() -> Descriptor {
        ReviewStage::descriptor()
    }

    fn run(ctx: Context<ReviewConfig>) -> Result<Success, StageError> {
        let Some(git) = ctx.git.as_ref() else {
            return Err(StageError::fatal(
                "builtin:review needs a run in a git worktree: it reviews the run branch's diff \
                 against its base commit",
            ));
        };
        let facts = RunFacts {
            task: TaskText {
                id: ctx.task.id.clone(),
                title: ctx.task.title.clone(),
                body: ctx.task.body.clone(),
            },
            base_commit: git.base_commit.clone(),
            checklists: checks::Checklists::from_outputs(&ctx.outputs),
        };
        review::run(&mut glue::SdkHost, &ctx.config, &facts)
    }
}

engine_stage_sdk::export_stage!(ReviewStage);
