//! Built-in task source `github`: open GitHub issues carrying the configured labels, through
//! the `gh` CLI (granted with `exec: [gh]`). A claim labels the issue in progress and comments;
//! done closes it with the note as its closing comment.
//!
//! [`cli`] decides what to ask `gh`, [`issues`] reads its JSON and makes tasks, [`refs`] reads
//! issue references and the `Depends on:` lines of bodies. This file only connects them to the
//! sandbox.

pub mod cli;
pub mod config;
pub mod issues;
pub mod refs;

use engine_source_sdk::exec::{Command, ExecError};
use engine_source_sdk::{
    Permissions, Source, SourceDescriptor, SourceError, Task, TaskList, TaskStatus, WorkspaceAccess,
};

use crate::cli::{Gh, Ran};
pub use crate::config::Config;

/// Most stdout kept from one `gh` command (the host's cap).
const OUTPUT_CAP: u64 = 1024 * 1024;

/// The `github` source.
pub struct GitHub;

impl Source for GitHub {
    type Config = Config;

    fn describe() -> SourceDescriptor {
        SourceDescriptor::new(
            "github",
            env!("CARGO_PKG_VERSION"),
            "Open GitHub issues with the configured labels, through gh",
        )
        .config_schema(&config::schema())
        .permissions(Permissions {
            workspace: WorkspaceAccess::Read,
            exec: vec!["gh".to_string()],
            ..Permissions::default()
        })
    }

    fn list(config: Config) -> Result<TaskList, SourceError> {
        cli::list(&mut Sandbox, &config)
    }

    fn claim(config: Config, id: &str, claimant: &str) -> Result<Task, SourceError> {
        cli::claim(&mut Sandbox, &config, id, claimant)
    }

    fn update(
        config: Config,
        id: &str,
        status: TaskStatus,
        note: Option<&str>,
    ) -> Result<Task, SourceError> {
        cli::update(&mut Sandbox, &config, id, status, note)
    }
}

engine_source_sdk::export_source!(GitHub);

/// `gh` through the `exec` import, in the repository, never prompting.
struct Sandbox;

impl Gh for Sandbox {
    fn run(&mut self, args: &[&str]) -> Result<Ran, SourceError> {
        let out = Command::new("gh")
            .args(args.iter().copied())
            .env("GH_PROMPT_DISABLED", "1")
            .env("GH_NO_UPDATE_NOTIFIER", "1")
            .env("NO_COLOR", "1")
            .output_cap(OUTPUT_CAP)
            .run()
            .map_err(|e| match e {
                ExecError::NotFound(m) => SourceError::Failed(format!(
                    "gh is not installed ({m}); install it from https://cli.github.com and log \
                     in with `gh auth login`"
                )),
                other => SourceError::Failed(format!(
                    "cannot run gh ({}): {}",
                    other.kind(),
                    other.message()
                )),
            })?;
        Ok(Ran {
            code: out.exit_code,
            truncated: out.stdout_bytes > OUTPUT_CAP,
            timed_out: out.timed_out,
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }
}
