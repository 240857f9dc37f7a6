//! `engine tasks start|done|block|check|next|graph`: arguments and printing; the library
//! ([`crate::tasks::commands`], [`crate::tasks::graph`]) does the work.

use std::path::PathBuf;

use clap::Args;

use super::tasks::{FileArg, TasksCommand, prepare, subcommand_file};
use crate::tasks::commands::{self, Action};
use crate::tasks::graph::{self, Format};
use crate::{EngineError, exit};

/// `engine tasks start|done ID`.
#[derive(Debug, Args)]
pub struct IdArgs {
    /// The task's id (`TASK-001`).
    pub id: String,
    #[command(flatten)]
    file: FileArg,
}

/// `engine tasks block ID [--reason R]`.
#[derive(Debug, Args)]
pub struct BlockArgs {
    /// The task's id.
    pub id: String,
    /// Why it is blocked; given to the source as the update's note (tasks-md has no place for
    /// it and leaves it out; trackers keep it as a comment).
    #[arg(long)]
    pub reason: Option<String>,
    #[command(flatten)]
    file: FileArg,
}

/// `engine tasks check ID N [--undo]`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The task's id.
    pub id: String,
    /// The checklist item, 1-based (as `engine tasks --json` lists the checklist).
    pub item: u32,
    /// Untick the item instead.
    #[arg(long)]
    pub undo: bool,
    #[command(flatten)]
    file: FileArg,
}

/// `engine tasks next`.
#[derive(Debug, Args)]
pub struct NextArgs {
    #[command(flatten)]
    file: FileArg,
}

/// `engine tasks graph [--format F]`.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    #[command(flatten)]
    file: FileArg,
}

/// Runs a subcommand on `outer` (`engine tasks FILE <command>`) or its own `-f`.
pub(super) async fn execute(
    command: TasksCommand,
    outer: Option<PathBuf>,
    json: bool,
) -> Result<u8, EngineError> {
    let (action, id, inner) = match command {
        TasksCommand::Start(a) => (Action::Start, a.id, a.file.file),
        TasksCommand::Done(a) => (Action::Done, a.id, a.file.file),
        TasksCommand::Block(a) => (Action::Block { reason: a.reason }, a.id, a.file.file),
        TasksCommand::Check(a) => (
            Action::Check {
                index: a.item,
                done: !a.undo,
            },
            a.id,
            a.file.file,
        ),
        TasksCommand::Next(a) => return next(subcommand_file(outer, a.file.file)?, json).await,
        TasksCommand::Graph(a) => {
            return graph(subcommand_file(outer, a.file.file)?, a.format, json).await;
        }
        TasksCommand::Sync(a) => return super::tasks_sync::execute(a, outer, json).await,
    };
    let file = subcommand_file(outer, inner)?;
    let (host, prepared, root) = prepare(&file, true).await?;
    let listing = crate::tasks::list(&host, &prepared, &root).await?;
    let changed = commands::apply(&host, &prepared, &root, &listing, &id, &action).await?;
    if json {
        super::print_json(&changed.to_json(&action))?;
    } else {
        println!("{}", changed.describe(&action));
    }
    Ok(exit::SUCCESS)
}

async fn next(file: PathBuf, json: bool) -> Result<u8, EngineError> {
    let (host, prepared, root) = prepare(&file, false).await?;
    let listing = crate::tasks::list(&host, &prepared, &root).await?;
    let next = graph::next(&listing);
    if json {
        super::print_json(&next.json())?;
    } else {
        print!("{}", next.text());
    }
    Ok(if next.next.is_some() {
        exit::SUCCESS
    } else {
        exit::NO_TASK
    })
}

async fn graph(file: PathBuf, format: Format, json: bool) -> Result<u8, EngineError> {
    if json {
        return Err(EngineError::Usage(
            "`engine tasks graph` prints text, DOT or Mermaid (--format); for the tasks and \
             their dependencies as JSON use `engine tasks --json`"
                .to_string(),
        ));
    }
    let (host, prepared, root) = prepare(&file, false).await?;
    let listing = crate::tasks::list(&host, &prepared, &root).await?;
    print!("{}", graph::render(&listing, format));
    Ok(exit::SUCCESS)
}
