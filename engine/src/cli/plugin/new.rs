//! `engine plugin new NAME --lang rust|python|js [--kind stage|source] [--dir PARENT]`: creates
//! a plugin project that builds out of the box ([`crate::plugin::scaffold`]) and says what to
//! run next. Exit 0 when created, 2 for a bad name, an existing non-empty directory or a
//! language/kind this engine has no template for.

use std::path::PathBuf;

use clap::Args;

use crate::EngineError;
use crate::plugin::build::{Kind, Lang};
use crate::plugin::scaffold::{self, NewProject, ScaffoldError};
use crate::terminal::safe;

/// Arguments of `engine plugin new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The plugin's name, kebab-case (`changelog-check`): the project directory, the package
    /// and the component (`dist/NAME.wasm`) are named after it.
    pub name: String,
    /// The language to write it in.
    #[arg(long, value_enum)]
    pub lang: Lang,
    /// A pipeline stage, or a task source.
    #[arg(long, value_enum, default_value_t = Kind::Stage)]
    pub kind: Kind,
    /// The directory to create the project in (default: the current directory).
    #[arg(long, value_name = "PARENT")]
    pub dir: Option<PathBuf>,
}

pub(super) fn execute(args: &NewArgs) -> Result<u8, EngineError> {
    let parent = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let created = scaffold::create(&NewProject {
        name: &args.name,
        lang: args.lang,
        kind: args.kind,
        parent: &parent,
    })
    .map_err(|e| match e {
        ScaffoldError::Io { path, source } => EngineError::Io { path, source },
        ScaffoldError::Embedded(_) => EngineError::Internal(e.to_string()),
        other => EngineError::Usage(other.to_string()),
    })?;
    let shown = match &args.dir {
        Some(dir) => dir.join(&args.name).display().to_string(),
        None => args.name.clone(),
    };
    let print = |line: &str| super::super::streams::print_line(&safe(line));
    print(&format!(
        "created {shown}/: a {} {} ({})",
        created.lang.name(),
        created.kind.noun(),
        created.files.join(", ")
    ));
    print("next:");
    for step in created.next_steps(&shown) {
        print(&format!("  {step}"));
    }
    Ok(crate::exit::SUCCESS)
}
