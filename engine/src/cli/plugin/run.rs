//! `engine plugin run FILE --workspace DIR`: one attempt of a stage component (or one
//! `list-tasks` of a task source) locally, in the sandbox a run gives it, without a workflow.
//! The work is [`crate::plugin::local_run`]'s; this file parses the arguments and prints.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, ValueEnum};
use engine_core::WorkspaceAccess;
use serde_json::Value;

use crate::EngineError;
use crate::cli::streams::print_line;
use crate::plugin::local_run::{
    self, ComponentRef, LocalOutcome, LocalRun, MAX_TASK_FILE_BYTES, json_text,
};
use crate::report::{Human, Quiet, Reporter};
use crate::terminal::{for_stderr, safe_lines};

/// The largest `--config @FILE` or `--output STAGE=@FILE` read.
const MAX_JSON_FILE_BYTES: u64 = 8 << 20;

/// Arguments of `engine plugin run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The component: a .wasm file, or `builtin:NAME` for a built-in stage or task source.
    pub file: String,
    /// The directory mounted at /workspace (with the access the component declares, or
    /// --workspace-access); for a task source, the repository its tasks are read from.
    #[arg(long, value_name = "DIR")]
    pub workspace: PathBuf,
    /// The stage's config (its `with:`), or a task source's config: JSON, or @FILE holding
    /// JSON. Default `{}`. Checked against the component's config schema; templates are not
    /// rendered.
    #[arg(long, value_name = "JSON|@FILE")]
    pub config: Option<String>,
    /// The task as text (first line = title); its id is derived like `engine run --task`.
    #[arg(long, conflicts_with = "task_file")]
    pub task: Option<String>,
    /// Read the task from a file (first line = title).
    #[arg(long, value_name = "FILE")]
    pub task_file: Option<PathBuf>,
    /// The stage id the attempt runs as (default: the component's name).
    #[arg(long, value_name = "ID")]
    pub stage_id: Option<String>,
    /// Outputs of an earlier stage the stage sees (repeatable): STAGE=JSON or STAGE=@FILE.
    #[arg(long = "output", value_name = "STAGE=JSON")]
    pub outputs: Vec<String>,
    /// Also grant this program (repeatable), for stages that take theirs from the config such
    /// as builtin:gate; the component's own `exec` permissions are always granted.
    #[arg(long = "exec", value_name = "PROGRAM")]
    pub exec: Vec<String>,
    /// Grant this workspace access instead of the one the component declares.
    #[arg(long, value_enum, value_name = "ACCESS")]
    pub workspace_access: Option<AccessArg>,
    /// Time limit of the attempt, e.g. 30s or 5m (default: a workflow stage's, 30m).
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// The base commit the stage sees (`git.base_commit`): a branch, tag or commit (default:
    /// HEAD of the workspace's repository).
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// Also show the stage's debug lines (its own stdout and stderr) and the programs it runs.
    #[arg(long, short)]
    pub verbose: bool,
    /// Print one JSON document (component, context, outcome, log lines) instead of lines.
    #[arg(long)]
    pub json: bool,
}

/// Workspace access on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AccessArg {
    /// Nothing is mounted.
    None,
    /// Mounted read-only.
    Read,
    /// Mounted read-write (the stage changes your directory).
    Write,
}

impl From<AccessArg> for WorkspaceAccess {
    fn from(access: AccessArg) -> Self {
        match access {
            AccessArg::None => WorkspaceAccess::None,
            AccessArg::Read => WorkspaceAccess::Read,
            AccessArg::Write => WorkspaceAccess::Write,
        }
    }
}

pub(super) async fn execute(args: RunArgs) -> Result<u8, EngineError> {
    let request = request(&args)?;
    let reporter: Arc<dyn Reporter> = if args.json {
        Arc::new(Quiet)
    } else {
        Arc::new(Human::stderr())
    };
    let outcome = local_run::run_local(&request, reporter).await?;
    if args.json {
        print_line(&json_text(&local_run::report_json(&outcome)));
        return Ok(outcome.exit_code());
    }
    match &outcome {
        LocalOutcome::Stage(run) => {
            if let Ok(success) = &run.result {
                print_line(&json_text(&success.outputs));
            }
        }
        LocalOutcome::Source(run) => match &run.listing {
            Ok(listing) => {
                print_line(&crate::tasks::render::table(listing));
                for warning in crate::tasks::render::warnings(listing) {
                    eprintln!("{}", for_stderr(&safe_lines(&warning)));
                }
            }
            Err(message) => {
                let line = format!("✗ {}: {message}", run.component.label);
                eprintln!("{}", for_stderr(&safe_lines(&line)));
            }
        },
    }
    Ok(outcome.exit_code())
}

/// The request the arguments make.
fn request(args: &RunArgs) -> Result<LocalRun, EngineError> {
    let config = match &args.config {
        Some(text) => json_argument("--config", text)?,
        None => Value::Object(serde_json::Map::new()),
    };
    let task = match (&args.task, &args.task_file) {
        (Some(text), _) => Some(text.clone()),
        (None, Some(file)) => Some(
            engine_workflow::read_text_file(file, MAX_TASK_FILE_BYTES, "the task file")
                .map_err(|why| EngineError::Usage(format!("--task-file {}: {why}", shown(file))))?,
        ),
        (None, None) => None,
    };
    let mut outputs = BTreeMap::new();
    for given in &args.outputs {
        let Some((stage, json)) = given.split_once('=') else {
            return Err(EngineError::Usage(format!(
                "--output {}: give STAGE=JSON (or STAGE=@FILE)",
                crate::terminal::safe(given)
            )));
        };
        let value = json_argument(&format!("--output {stage}"), json)?;
        outputs.insert(stage.to_string(), value);
    }
    let timeout = match &args.timeout {
        Some(text) => Some(humantime::parse_duration(text).map_err(|e| {
            EngineError::Usage(format!(
                "--timeout {}: {e} (examples: 30s, 5m, 1h)",
                crate::terminal::safe(text)
            ))
        })?),
        None => None,
    };
    Ok(LocalRun {
        component: ComponentRef::parse(&args.file),
        workspace: args.workspace.clone(),
        config,
        task,
        stage_id: args.stage_id.clone(),
        outputs,
        exec: args.exec.clone(),
        workspace_access: args.workspace_access.map(WorkspaceAccess::from),
        timeout,
        base: args.base.clone(),
        verbose: args.verbose,
    })
}

/// JSON given on the command line, or `@FILE` holding it; `option` names it in errors.
fn json_argument(option: &str, text: &str) -> Result<Value, EngineError> {
    let option = crate::terminal::safe(option);
    let (json, origin) = match text.strip_prefix('@') {
        Some(file) => {
            let path = Path::new(file);
            let json = engine_workflow::read_text_file(path, MAX_JSON_FILE_BYTES, "the file")
                .map_err(|why| EngineError::Usage(format!("{option} @{}: {why}", shown(path))))?;
            (json, format!(" (in {})", shown(path)))
        }
        None => (text.to_string(), String::new()),
    };
    serde_json::from_str(&json)
        .map_err(|e| EngineError::Usage(format!("{option}: not JSON{origin}: {e}")))
}

fn shown(path: &Path) -> String {
    crate::terminal::safe(&path.display().to_string()).into_owned()
}
