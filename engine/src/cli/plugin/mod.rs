//! `engine plugin ...`: the plugin author's commands. Each subcommand lives in its own file and
//! only parses arguments; the work is done by [`crate::plugin`].

mod build;
mod check;
mod describe;
mod new;
mod pin;
mod run;

use clap::{Args, Subcommand};

use crate::EngineError;

/// Arguments of `engine plugin`.
#[derive(Debug, Args)]
pub struct PluginArgs {
    /// The plugin command.
    #[command(subcommand)]
    pub command: PluginCommand,
}

/// The subcommands of `engine plugin`.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Create a plugin project that builds out of the box against this engine's WIT
    /// (`--lang rust|python|js`, `--kind stage|source`).
    New(new::NewArgs),
    /// Build the plugin project in a directory (cargo, componentize-py or componentize-js at
    /// pinned versions) and print the component's sha256 pin.
    Build(build::BuildArgs),
    /// Say in plain words whether a file is a component this engine can load, and as what.
    Check(check::CheckArgs),
    /// Print a component's name, version, summary, config schema and permissions.
    Describe(describe::DescribeArgs),
    /// Run one stage attempt locally in the same sandbox as a workflow, without a workflow.
    Run(run::RunArgs),
    /// Update the sha256 pins of a workflow's plugin stages in place (formatting kept).
    Pin(pin::PinArgs),
}

pub(super) async fn execute(args: PluginArgs) -> Result<u8, EngineError> {
    match args.command {
        PluginCommand::New(args) => new::execute(&args),
        PluginCommand::Build(args) => build::execute(&args).await,
        PluginCommand::Check(args) => check::execute(&args).await,
        PluginCommand::Describe(args) => describe::execute(&args).await,
        PluginCommand::Run(args) => Box::pin(run::execute(args)).await,
        PluginCommand::Pin(args) => pin::execute(&args),
    }
}
