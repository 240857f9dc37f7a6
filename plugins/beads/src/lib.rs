//! Built-in task source `beads`: the issues of a [Beads](https://github.com/steveyegge/beads)
//! tracker through the `bd` CLI (granted with `exec: [bd]`), or read-only from the JSONL export
//! (`.beads/issues.jsonl`) when `bd` is not installed.
//!
//! [`cli`] decides what to ask `bd` and how to fall back, [`issue`] reads bd's JSON,
//! [`graph`] turns issues and Beads' dependency types into tasks. This file only connects
//! them to the sandbox: `bd` through the `exec` import, the export through `/workspace`.

pub mod cli;
pub mod config;
pub mod graph;
pub mod issue;
mod time;

use std::path::Path;

use engine_source_sdk::exec::{Command, ExecError};
use engine_source_sdk::{
    Permissions, Source, SourceDescriptor, SourceError, Task, TaskList, TaskStatus, WORKSPACE,
    WorkspaceAccess,
};

use crate::cli::{Bd, Ran, RunError};
pub use crate::config::Config;

/// Most stdout kept from one `bd` command (the host's cap).
const OUTPUT_CAP: u64 = 1024 * 1024;

/// The `beads` source.
pub struct Beads;

impl Source for Beads {
    type Config = Config;

    fn describe() -> SourceDescriptor {
        SourceDescriptor::new(
            "beads",
            env!("CARGO_PKG_VERSION"),
            "Issues of a Beads tracker through bd (read-only from .beads/issues.jsonl without bd)",
        )
        .config_schema(&config::schema())
        .permissions(Permissions {
            workspace: WorkspaceAccess::Read,
            exec: vec!["bd".to_string()],
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

engine_source_sdk::export_source!(Beads);

/// `bd` through the `exec` import; the repository at `/workspace`.
struct Sandbox;

impl Bd for Sandbox {
    fn run(&mut self, args: &[&str]) -> Result<Ran, RunError> {
        let out = Command::new("bd")
            .args(args.iter().copied())
            .env("BD_JSON_ENVELOPE", "1")
            .env("NO_COLOR", "1")
            .output_cap(OUTPUT_CAP)
            .run()
            .map_err(|e| match e {
                ExecError::NotFound(m) => RunError::Missing(m),
                other => RunError::Failed(SourceError::Failed(format!(
                    "cannot run bd ({}): {}",
                    other.kind(),
                    other.message()
                ))),
            })?;
        Ok(Ran {
            code: out.exit_code,
            truncated: out.stdout_bytes > OUTPUT_CAP,
            timed_out: out.timed_out,
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }

    fn read(&mut self, path: &str) -> Result<Option<String>, SourceError> {
        match std::fs::read(Path::new(WORKSPACE).join(path)) {
            Ok(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| SourceError::Failed(format!("{path} is not UTF-8 text"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(SourceError::Failed(format!("cannot read {path}: {e}"))),
        }
    }

    fn now(&self) -> Option<i64> {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_secs()).ok())
    }
}
