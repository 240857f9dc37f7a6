//! `engine tasks sync --to github | --from github [--apply]`: arguments and printing; the
//! library ([`crate::tasks::sync`]) does the work. See docs/github-sync.md.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::tasks::{FileArg, prepare, subcommand_file};
use crate::tasks::sync::gh::Gh;
use crate::tasks::sync::{Options, from_github, to_github};
use crate::{EngineError, exit};

/// The services `sync` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Service {
    /// GitHub issues, through the `gh` CLI.
    Github,
}

/// `engine tasks sync`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("direction").required(true).args(["to", "from"])))]
pub struct SyncArgs {
    /// Export the tasks as issues of this service.
    #[arg(long, value_enum)]
    pub to: Option<Service>,
    /// Import the service's issues as tasks (appended to the tasks.md file).
    #[arg(long, value_enum)]
    pub from: Option<Service>,
    /// Make the changes (without it: print what would change and change nothing).
    #[arg(long)]
    pub apply: bool,
    /// Label put on exported issues and required of imported ones (repeatable; the issues
    /// must carry all of them). The labels must exist in the repository.
    #[arg(long = "label", value_name = "LABEL", default_values_t = ["engine".to_string()])]
    pub labels: Vec<String>,
    /// The GitHub repository (`OWNER/NAME`); default: the one `gh` finds from the git remote.
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: Option<String>,
    /// At most this many issues are read from GitHub.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub limit: u32,
    #[command(flatten)]
    file: FileArg,
}

/// Runs `engine tasks sync`.
pub(super) async fn execute(
    args: SyncArgs,
    outer: Option<PathBuf>,
    json: bool,
) -> Result<u8, EngineError> {
    if let Some(repo) = &args.repo {
        let valid = repo.split_once('/').is_some_and(|(owner, name)| {
            let part = |s: &str| {
                !s.is_empty()
                    && !s.starts_with('-')
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            };
            part(owner) && part(name)
        });
        if !valid {
            return Err(EngineError::Usage(format!(
                "--repo {}: give OWNER/NAME, e.g. octo/app",
                crate::terminal::safe(repo)
            )));
        }
    }
    if let Some(label) = args
        .labels
        .iter()
        .find(|l| l.trim().is_empty() || l.starts_with('-'))
    {
        return Err(EngineError::Usage(format!(
            "--label {label:?}: a label is a non-empty name that does not start with `-`"
        )));
    }
    let file = subcommand_file(outer, args.file.file)?;
    let (host, prepared, root) = prepare(&file, args.apply).await?;
    let listing = crate::tasks::list(&host, &prepared, &root).await?;
    let options = Options {
        labels: args.labels,
        repo: args.repo,
        limit: args.limit,
        apply: args.apply,
    };
    let gh = Gh::new(&root, options.repo.clone());
    let report = if args.to.is_some() {
        to_github::sync(&gh, &listing.tasks, &options).await?
    } else {
        from_github::sync(&host, &prepared, &root, &listing, &gh, &options).await?
    };
    if json {
        super::print_json(&report)?;
    } else {
        print!("{}", report.text());
    }
    Ok(exit::SUCCESS)
}
