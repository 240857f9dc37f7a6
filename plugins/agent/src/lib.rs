//! Built-in stage `agent`: hands the task to a coding-agent CLI (run and supervised by the
//! host) and brings back a finished change, or a clear reason why not.
//!
//! ```yaml
//! execute:
//!   uses: builtin:agent
//!   with: { backend: claude, model: smart, completion: promise, budget_usd: 2 }
//!   permissions: { workspace: write, agent: true }
//! ```
//!
//! The host enforces the hard limits (inactivity, tool ceilings, silence, turns, budget); this
//! stage decides policy: the prompt ([`prompt`]), when the task is complete ([`completion`]),
//! continuing under a circuit breaker ([`breaker`]), stalls ([`stall`]), usage limits, auth
//! failures and context overflow ([`runner`], [`failures`]). Everything but [`glue`] is plain
//! Rust, tested on the host against scripted sessions. See `docs/agent-stage.md`.
#![warn(missing_docs)]

pub mod breaker;
pub mod checklist;
pub mod completion;
pub mod config;
pub mod failures;
#[cfg(test)]
mod fake_host;
pub mod gate_block;
pub mod glue;
pub mod host;
pub mod outputs;
pub mod plan;
pub mod prompt;
pub mod runner;
pub mod schema;
pub mod stall;
pub mod totals;

use engine_stage_sdk::{
    Context, Delivery, Descriptor, Permissions, Stage, StageError, Success, WorkspaceAccess,
};

use config::AgentConfig;
use plan::Plan;

/// The agent stage.
pub struct AgentStage;

impl AgentStage {
    /// What `describe` returns.
    pub fn descriptor() -> Descriptor {
        Descriptor::new(
            "agent",
            env!("CARGO_PKG_VERSION"),
            "Runs a coding agent on the task until it signals completion",
        )
        .config_schema(&schema::schema())
        .permissions(Permissions {
            workspace: WorkspaceAccess::Write,
            exec: Vec::new(),
            agent: true,
            net: Vec::new(),
        })
        .delivery(Delivery::AtLeastOnce)
    }

    /// One attempt against `host`.
    pub fn run_with<H: host::AgentHost>(
        host: &mut H,
        ctx: &Context<AgentConfig>,
    ) -> Result<Success, StageError> {
        let plan = Plan::new(ctx)?;
        if let Some(tier) = &plan.forced_tier {
            host.log(
                host::LogLevel::Warn,
                &format!("the previous attempt stalled: this one uses the `{tier}` tier"),
            );
        }
        match runner::run(host, &plan) {
            Ok(report) => Ok(outputs::success(&plan, &report)),
            Err(error) => Err(plan.tag_failure(error)),
        }
    }
}

impl Stage for AgentStage {
    type Config = AgentConfig;

    fn describe() -> Descriptor {
        AgentStage::descriptor()
    }

    fn run(ctx: Context<AgentConfig>) -> Result<Success, StageError> {
        AgentStage::run_with(&mut glue::SdkHost, &ctx)
    }
}

engine_stage_sdk::export_stage!(AgentStage);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_asks_for_write_access_and_agent_only() {
        let d = AgentStage::descriptor();
        assert_eq!(d.name, "agent");
        assert_eq!(d.permissions.workspace, WorkspaceAccess::Write);
        assert!(d.permissions.agent);
        assert!(d.permissions.exec.is_empty());
        assert!(d.permissions.net.is_empty());
        assert_eq!(d.delivery, Delivery::AtLeastOnce);
        assert_eq!(
            d.config_schema_json()["required"],
            serde_json::json!(["backend"])
        );
    }
}
