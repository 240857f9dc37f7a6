//! `engine completions SHELL` and `engine man`: shell completions and the man page, generated
//! from the clap definitions of [`super::Cli`] (so they never drift from the real options).

use clap::{Args, CommandFactory, ValueEnum};

use crate::{EngineError, exit};

/// The shells `engine completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// Bash: `engine completions bash > ~/.local/share/bash-completion/completions/engine`.
    Bash,
    /// Zsh: `engine completions zsh > "${fpath[1]}/_engine"`.
    Zsh,
    /// Fish: `engine completions fish > ~/.config/fish/completions/engine.fish`.
    Fish,
}

/// Arguments of `engine completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Prints the completion script for `args.shell` on stdout.
pub(super) fn completions(args: &CompletionsArgs) -> u8 {
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut command = super::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "engine", &mut script);
    super::streams::print(&String::from_utf8_lossy(&script));
    exit::SUCCESS
}

/// Prints the man page (roff, section 1) on stdout: `engine man | man -l -`.
pub(super) fn man() -> Result<u8, EngineError> {
    let mut page = Vec::new();
    clap_mangen::Man::new(super::Cli::command())
        .render(&mut page)
        .map_err(|e| EngineError::Internal(format!("cannot render the man page: {e}")))?;
    super::streams::print(&String::from_utf8_lossy(&page));
    Ok(exit::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_definition_is_consistent() {
        // clap's own checks (conflicting names, bad defaults) over every subcommand.
        super::super::Cli::command().debug_assert();
    }
}
