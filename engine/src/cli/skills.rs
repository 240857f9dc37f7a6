//! `engine skills`: check skill files, expand a skill's stories into tasks, print the skill
//! schema. The work is in [`crate::skills`]; this file parses arguments and prints. See
//! docs/skills.md.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::skills::expand;
use crate::skills::files::{SkillFileError, SkillsHome};
use crate::terminal::safe_lines;
use crate::{EngineError, exit};

/// Arguments of `engine skills`.
#[derive(Debug, Args)]
pub struct SkillsArgs {
    /// The subcommand.
    #[command(subcommand)]
    pub command: SkillsCommand,
}

/// The subcommands of `engine skills`.
#[derive(Debug, Subcommand)]
pub enum SkillsCommand {
    /// Check skill files against the skill schema and rules (every skill without NAME);
    /// problems are printed as `file:line:col` and the exit code is 2.
    Check(CheckArgs),
    /// Append a skill's stories to a tasks.md as tasks (with their dependencies, acceptance
    /// criteria as checklist, and the lines selecting the skill); stories already there are
    /// skipped. The file is replaced atomically.
    Expand(ExpandArgs),
    /// Print the skill JSON Schema (for editors).
    Schema,
}

/// Arguments of `engine skills check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Skill names (files `<skills.dir>/<name>.yaml`); none: every skill.
    pub names: Vec<String>,
    /// The workflow whose `skills.dir` to use (default: `skills`).
    #[arg(long, value_name = "FILE")]
    pub workflow: Option<PathBuf>,
}

/// Arguments of `engine skills expand`.
#[derive(Debug, Args)]
pub struct ExpandArgs {
    /// The skill's name.
    pub name: String,
    /// The tasks file to append to (default: the workflow's tasks-md path, else
    /// `spec/tasks.md` at the repository root).
    #[arg(long, value_name = "FILE")]
    pub into: Option<PathBuf>,
    /// The workflow whose `skills.dir` and `tasks:` to use.
    #[arg(long, value_name = "FILE")]
    pub workflow: Option<PathBuf>,
    /// Print the tasks that would be added; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub(super) fn execute(args: SkillsArgs) -> Result<u8, EngineError> {
    match args.command {
        SkillsCommand::Check(args) => check(&args),
        SkillsCommand::Expand(args) => expand_command(&args),
        SkillsCommand::Schema => {
            println!("{}", engine_workflow::skill_schema_json());
            Ok(exit::SUCCESS)
        }
    }
}

fn home(workflow: Option<&Path>) -> Result<SkillsHome, EngineError> {
    let cwd = std::env::current_dir().map_err(|source| EngineError::Io {
        path: PathBuf::from("."),
        source,
    })?;
    SkillsHome::discover(&cwd, workflow)
}

fn check(args: &CheckArgs) -> Result<u8, EngineError> {
    let home = home(args.workflow.as_deref())?;
    let names = if args.names.is_empty() {
        home.names()?
    } else {
        args.names.clone()
    };
    if names.is_empty() {
        println!("no skills in {}/", home.rules.skills_dir);
        return Ok(exit::SUCCESS);
    }
    let mut bad = 0;
    for name in &names {
        match home.load(name) {
            Ok(skill) => println!(
                "{}: ok ({} stor{}, {} gate{})",
                safe_lines(&home.display_path(name)),
                skill.stories.len(),
                if skill.stories.len() == 1 { "y" } else { "ies" },
                skill.gates.len(),
                if skill.gates.len() == 1 { "" } else { "s" }
            ),
            Err(e) => {
                bad += 1;
                report(&e);
            }
        }
    }
    if bad > 0 {
        eprintln!(
            "error: {bad} of {} skill{} invalid",
            names.len(),
            if names.len() == 1 { " is" } else { "s are" }
        );
        return Ok(exit::INVALID_INPUT);
    }
    Ok(exit::SUCCESS)
}

fn report(e: &SkillFileError) {
    for line in safe_lines(&e.to_string()).lines() {
        eprintln!("{line}");
    }
}

fn expand_command(args: &ExpandArgs) -> Result<u8, EngineError> {
    let home = home(args.workflow.as_deref())?;
    let skill = match home.load(&args.name) {
        Ok(skill) => skill,
        Err(e) => {
            report(&e);
            eprintln!(
                "error: skill {:?} is invalid: nothing was written",
                args.name
            );
            return Ok(exit::INVALID_INPUT);
        }
    };
    let into = match &args.into {
        Some(path) => path.clone(),
        None => home
            .root
            .join(home.tasks_file.as_deref().unwrap_or("spec/tasks.md")),
    };
    let into_text = into.display().to_string();
    let shown = safe_lines(&into_text);
    let expansion = if args.dry_run {
        let existing = match std::fs::read_to_string(&into) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => return Err(EngineError::Io { path: into, source }),
        };
        expand::expand_text(&existing, &skill)
    } else {
        expand::expand_file(&into, &skill).map_err(|e| EngineError::Usage(e.to_string()))?
    };
    for id in &expansion.skipped {
        println!("{id}: already a task of {shown}, skipped");
    }
    let verb = if args.dry_run { "would add" } else { "added" };
    if expansion.added.is_empty() {
        println!("nothing to add to {shown}");
    } else {
        println!(
            "{verb} {} task{} to {shown}: {}",
            expansion.added.len(),
            if expansion.added.len() == 1 { "" } else { "s" },
            expansion.added.join(", ")
        );
    }
    Ok(exit::SUCCESS)
}
