//! `engine spec audit` and `engine spec report`: traceability over a spec-runner `spec/`
//! directory (requirements, design, tasks) and the runs of the state store. The work is in
//! [`crate::spec`]; this file parses arguments and prints. See docs/traceability.md.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use engine_store::{Store, read_mirrors};

use super::readonly::{self, RunSource};
use crate::history::{Drivers, Listed, RunFilter};
use crate::project::{Project, host};
use crate::spec::{self, audit, render, report, runs};
use crate::{EngineError, exit};

/// What `engine spec audit --strict` exits with when it found something (the code a failed
/// run exits with).
pub const AUDIT_FINDINGS: u8 = exit::RUN_FAILED;

/// Arguments of `engine spec`.
#[derive(Debug, Args)]
pub struct SpecArgs {
    /// The subcommand.
    #[command(subcommand)]
    pub command: SpecCommand,
}

/// The subcommands of `engine spec`.
#[derive(Debug, Subcommand)]
pub enum SpecCommand {
    /// Check the links between requirements, design and tasks: untraced tasks, uncovered
    /// requirements, untraced design items, dangling traces, duplicate ids, design items
    /// tracing to unknown ids. Findings are warnings (exit 0) unless --strict (exit 1).
    Audit(AuditArgs),
    /// The requirement → design → tasks → runs matrix: each requirement, the design items and
    /// tasks tracing to it, each task's status and runs (outcome, commits, merged commit).
    Report(ReportArgs),
}

/// Arguments of `engine spec audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The spec directory holding requirements.md, design.md (optional) and tasks.md.
    #[arg(long, value_name = "DIR", default_value = "spec")]
    pub spec_dir: PathBuf,
    /// Exit 1 when there is any finding (for CI).
    #[arg(long)]
    pub strict: bool,
    /// Print JSON (`{requirements, design_items, tasks, findings: [...]}`) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `engine spec report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The spec directory holding requirements.md, design.md (optional) and tasks.md.
    #[arg(long, value_name = "DIR", default_value = "spec")]
    pub spec_dir: PathBuf,
    /// Only tasks of this milestone (its whole name, the part before or after its `:`, or its
    /// number) and the requirements they cover.
    #[arg(long, value_name = "M")]
    pub milestone: Option<String>,
    /// Only requirements not done: no task covers them, or none of their tasks is done.
    #[arg(long)]
    pub uncovered_only: bool,
    /// Print JSON instead of text.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV (RFC 4180; cells that would start a formula get a leading `'`).
    #[arg(long)]
    pub csv: bool,
}

pub(super) async fn execute(args: SpecArgs, state_dir: Option<&Path>) -> Result<u8, EngineError> {
    match args.command {
        SpecCommand::Audit(args) => audit_command(&args).await,
        SpecCommand::Report(args) => report_command(&args, state_dir).await,
    }
}

async fn audit_command(args: &AuditArgs) -> Result<u8, EngineError> {
    let set = load(&args.spec_dir).await?;
    let audit = audit::audit(&set);
    if args.json {
        super::print_json(&audit)?;
    } else {
        super::streams::print(&render::audit_text(&audit, args.strict));
    }
    Ok(if args.strict && !audit.findings.is_empty() {
        AUDIT_FINDINGS
    } else {
        exit::SUCCESS
    })
}

async fn report_command(args: &ReportArgs, state_dir: Option<&Path>) -> Result<u8, EngineError> {
    let set = load(&args.spec_dir).await?;
    let listed = stored_runs(state_dir)?;
    let options = report::Options {
        milestone: args.milestone.clone(),
        uncovered_only: args.uncovered_only,
    };
    let matrix = report::build(&set, &runs::by_task(&listed), &options)?;
    if args.json {
        super::print_json(&matrix)?;
    } else if args.csv {
        super::streams::print(&render::report_csv(&matrix));
    } else {
        super::streams::print(&render::report_text(&matrix));
    }
    Ok(exit::SUCCESS)
}

/// Reads the spec directory; the task source's warnings go to stderr.
async fn load(dir: &Path) -> Result<spec::SpecSet, EngineError> {
    let host = host()?;
    let set = spec::load(&host, dir).await?;
    for warning in &set.tasks.warnings {
        eprintln!("warning: {}", crate::terminal::safe(&warning.to_string()));
    }
    Ok(set)
}

/// Every stored run with its shown status (none when there is no state directory yet), read
/// through the store, or the mirrors while another process holds it.
fn stored_runs(state_dir: Option<&Path>) -> Result<Vec<Listed>, EngineError> {
    let dir = Project::state_dir_for_reading(state_dir)?;
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let all = RunFilter::default();
    Ok(match readonly::open(&dir, "engine spec report")? {
        RunSource::Store(state_dir) => {
            all.apply_lazily(state_dir.store().newest_first(), &Drivers::Nobody)?
        }
        RunSource::Mirrors(dir) => {
            let listing = read_mirrors(&dir)?;
            readonly::warn_unreadable(&listing.problems);
            all.apply(listing.runs, &readonly::drivers(&dir))
        }
    })
}
