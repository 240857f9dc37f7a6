//! Built-in stage `gate`: runs check commands (tests, linters, builds) in the worktree and fails
//! when one of them fails.
//!
//! ```yaml
//! test:
//!   uses: builtin:gate
//!   with: { commands: ["cargo test", ["sh", "-c", "make lint"]], timeout: 10m }
//!   permissions: { workspace: read, exec: [cargo, sh] }
//! ```
//!
//! A failing command is a fatal failure (a check fails the same way when run again); a command
//! that ran past its timeout is retryable. Output of known runners (cargo test, pytest, go
//! test, jest/vitest) is parsed into a short failure summary; with `baseline: true` a command
//! that already fails on the run's base commit does not block. See docs/gate.md.
#![warn(missing_docs)]

pub mod baseline;
pub mod config;
pub mod gate;
pub mod parsers;
pub mod report;
pub mod runner;
pub mod skill_gates;

#[cfg(test)]
mod tests;

use engine_stage_sdk::{
    Context, Delivery, Descriptor, Permissions, Stage, StageError, Success, WorkspaceAccess,
};

use config::GateConfig;
use runner::SdkRunner;

/// The gate stage.
pub struct Gate;

impl Stage for Gate {
    type Config = GateConfig;

    fn describe() -> Descriptor {
        Descriptor::new(
            "gate",
            env!("CARGO_PKG_VERSION"),
            "Runs check commands in the worktree; fails when one fails",
        )
        .config_schema(&config::schema())
        .permissions(Permissions {
            workspace: WorkspaceAccess::Read,
            // Programs come from the config; the workflow grants them under permissions.exec
            // (and `git` for `baseline: true`).
            exec: Vec::new(),
            agent: false,
            net: Vec::new(),
        })
        .delivery(Delivery::AtLeastOnce)
    }

    fn run(ctx: Context<GateConfig>) -> Result<Success, StageError> {
        let Some(gates) = skill_gates::from_outputs(&ctx.outputs).map_err(StageError::fatal)?
        else {
            return gate::run_gate(&SdkRunner, &ctx.config, ctx.git.as_ref(), &ctx.keys.attempt);
        };
        let runner = SdkRunner;
        for pattern in &gates.skipped {
            runner::Runner::info(
                &runner,
                &format!(
                    "skill `{}`: no changed file matches `{pattern}`: its gate does not run",
                    gates.skill
                ),
            );
        }
        if ctx.config.commands.is_empty() && gates.run.is_empty() {
            return Ok(Success::new(format!(
                "nothing to run: no gate of skill `{}` matches the change",
                gates.skill
            ))
            .output("commands", serde_json::json!([]))
            .output("skipped_patterns", serde_json::json!(gates.skipped)));
        }
        let config = skill_gates::with_skill_gates(&ctx.config, &gates);
        gate::run_gate(&runner, &config, ctx.git.as_ref(), &ctx.keys.attempt)
    }
}

engine_stage_sdk::export_stage!(Gate);
