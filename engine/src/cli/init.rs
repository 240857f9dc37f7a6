//! `engine init`: writes a commented workflow (and its JSON Schema) into the current repository,
//! with the test command and the agent CLI it detects.

use std::path::{Path, PathBuf};

use clap::Args;
use engine_git::Repo;

use crate::init::{self, Choices, SCHEMA_FILE_NAME, TestCommand};
use crate::{EngineError, exit};

/// Arguments of `engine init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite the workflow file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Where to write the workflow (default: `workflows/engine.yaml` at the repository root).
    /// The JSON Schema goes next to it as `workflow.schema.json`.
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// The agent backend (claude, codex, gemini, opencode, aider, cursor) instead of the one
    /// found on PATH.
    #[arg(long, value_name = "NAME")]
    pub backend: Option<String>,
    /// The test command (repeatable) instead of the detected one, e.g. `--test "cargo test"`.
    #[arg(long = "test", value_name = "CMD")]
    pub test: Vec<String>,
}

pub(super) fn execute(args: &InitArgs) -> Result<u8, EngineError> {
    let cwd = std::env::current_dir().map_err(|e| EngineError::io(".", e))?;
    let repo = Repo::discover(&cwd).map_err(|e| {
        EngineError::Usage(format!(
            "{e}\nengine init writes into a git repository: cd into one (or `git init`)"
        ))
    })?;
    let root = repo.root().to_path_buf();
    let output = match &args.output {
        Some(path) if path.is_absolute() => path.clone(),
        Some(path) => cwd.join(path),
        None => root.join(super::workflow_path::DEFAULT_WORKFLOW),
    };
    if output.exists() && !args.force {
        return Err(EngineError::Usage(format!(
            "{} already exists; pass --force to overwrite it (or --output PATH)",
            output.display()
        )));
    }

    let (backend, backend_found) = match args.backend.as_deref() {
        Some(name) => match init::backend_named(name) {
            Some(b) => (b, false),
            None => {
                return Err(EngineError::Usage(format!(
                    "unknown backend {name:?}: choose one of {}",
                    init::BACKENDS.map(|b| b.name).join(", ")
                )));
            }
        },
        None => match init::detect_backend(std::env::var_os("PATH").as_deref()) {
            Some(b) => (b, true),
            None => (init::BACKENDS[0], false),
        },
    };
    let tests = if args.test.is_empty() {
        init::detect_tests(&root)
    } else {
        TestCommand {
            commands: args.test.clone(),
            source: None,
            also_found: Vec::new(),
        }
    };
    let shown = display_path(&output, &cwd);
    let text = init::render(&Choices {
        workflow_path: &shown,
        tests: &tests,
        backend,
        backend_found,
        backend_chosen: args.backend.is_some(),
        test_chosen: !args.test.is_empty(),
    })
    .map_err(|e| EngineError::Internal(e.to_string()))?;
    // Refuse to write what `engine validate` would reject (e.g. a --test it cannot grant).
    let dir = output.parent().map(Path::to_path_buf).unwrap_or_default();
    if let Err(diags) = engine_workflow::load_str(&shown, &dir, &text) {
        eprintln!("engine init: nothing written; fix the options (--test, --backend):");
        return Err(diags.into());
    }

    // Where to write is the user's choice (--output): a place that cannot be written is theirs
    // to fix, not a bug.
    let unwritable = |path: &Path, e: std::io::Error| {
        EngineError::Usage(format!(
            "cannot write {}: {e} (choose another place with --output)",
            path.display()
        ))
    };
    std::fs::create_dir_all(&dir).map_err(|e| unwritable(&dir, e))?;
    std::fs::write(&output, &text).map_err(|e| unwritable(&output, e))?;
    let schema = dir.join(SCHEMA_FILE_NAME);
    std::fs::write(&schema, format!("{}\n", engine_workflow::schema_json()))
        .map_err(|e| EngineError::io(&schema, e))?;

    report(
        &shown,
        &display_path(&schema, &cwd),
        &tests,
        backend,
        backend_found,
        args,
    );
    Ok(exit::SUCCESS)
}

fn report(
    shown: &str,
    schema: &str,
    tests: &TestCommand,
    backend: init::Backend,
    found: bool,
    args: &InitArgs,
) {
    println!("wrote {shown} (and its JSON Schema, {schema})");
    let source = match (args.test.is_empty(), tests.source) {
        (false, _) => "given with --test".to_string(),
        (true, Some(source)) => format!("detected from {source}"),
        (true, None) => "none found: a placeholder that fails until you edit it".to_string(),
    };
    println!("  test:    {} ({source})", tests.commands.join("; "));
    if !tests.also_found.is_empty() {
        println!("           also found: {}", tests.also_found.join(", "));
    }
    let how = if args.backend.is_some() {
        "given with --backend".to_string()
    } else if found {
        format!("`{}` found on PATH", backend.program)
    } else {
        "no agent CLI found on PATH: assumed".to_string()
    };
    println!("  agent:   {} ({how})", backend.name);
    println!("  secrets: {}", backend.secrets.join(", "));
    println!();
    println!("next steps:");
    println!("  engine validate {shown}");
    println!("  engine run {shown} --task \"Describe the change you want\"");
}

/// `path` relative to `cwd` when it is inside it (what the user would type), else absolute.
fn display_path(path: &Path, cwd: &Path) -> String {
    path.strip_prefix(cwd).unwrap_or(path).display().to_string()
}
