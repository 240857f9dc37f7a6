//! Built-in stage `triage`: decides the model tier of the run (genius / smart / primitive)
//! and whether the task should run at all.
//!
//! ```yaml
//! triage:
//!   uses: builtin:triage            # rules mode with the built-in defaults
//! execute:
//!   uses: builtin:agent
//!   needs: [triage]
//!   with: { backend: claude, model: "{{ stages.triage.outputs.tier }}" }
//! ```
//!
//! Mode `rules` ([`rules`]) votes from labels, the size of the task text, keywords and the
//! files the task names; mode `agent` ([`agent_mode`]) asks a read-only agent session for a
//! JSON verdict ([`verdict`]). A task that is already done, too vague or labelled "do not
//! run" ends the run "needs attention". A run whose agent stalled earlier is forced to the
//! top tier ([`forcing`]). Everything but [`glue`] is plain Rust, tested on the host. See
//! `docs/triage.md`.
//!
//! The stage declares no permissions, so `uses: builtin:triage` validates without a
//! `permissions:` block; granting `workspace: read` turns on file hints, and mode `agent`
//! needs `agent: true` (without it the attempt fails, saying so).
#![warn(missing_docs)]

pub mod agent_mode;
pub mod assessment;
pub mod config;
pub mod decide;
pub mod defaults;
#[cfg(test)]
mod fake_host;
pub mod files;
pub mod forcing;
pub mod glue;
pub mod host;
pub mod prompt;
pub mod rules;
pub mod schema;
pub mod text;
pub mod tier;
pub mod verdict;

use engine_stage_sdk::{
    Context, Delivery, Descriptor, Permissions, Stage, StageError, Success, WorkspaceAccess,
};

use config::TriageConfig;

/// The triage stage.
pub struct Triage;

impl Triage {
    /// What `describe` returns.
    pub fn descriptor() -> Descriptor {
        Descriptor::new(
            "triage",
            env!("CARGO_PKG_VERSION"),
            "Picks the model tier of the run and stops tasks that are done or too vague",
        )
        .config_schema(&schema::schema())
        .permissions(Permissions {
            // Optional extras, used when granted: `workspace: read` for file hints and
            // `agent: true` for mode `agent`. Declaring them would force every workflow to
            // grant them, even for the rules mode that needs neither.
            workspace: WorkspaceAccess::None,
            exec: Vec::new(),
            agent: false,
            net: Vec::new(),
        })
        .delivery(Delivery::AtLeastOnce)
    }
}

impl Stage for Triage {
    type Config = TriageConfig;

    fn describe() -> Descriptor {
        Triage::descriptor()
    }

    fn run(ctx: Context<TriageConfig>) -> Result<Success, StageError> {
        let mut host = glue::SdkHost {
            workspace: ctx.workspace.as_ref().map(std::path::PathBuf::from),
        };
        decide::run_triage(&mut host, &ctx)
    }
}

engine_stage_sdk::export_stage!(Triage);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_asks_for_nothing_and_has_a_strict_schema() {
        let d = Triage::descriptor();
        assert_eq!(d.name, "triage");
        assert_eq!(d.permissions, Permissions::default());
        assert_eq!(d.delivery, Delivery::AtLeastOnce);
        assert_eq!(d.config_schema_json()["additionalProperties"], false);
    }
}
