//! `engine plan "description"`: an agent drafts `spec/tasks.md` (with `--full`, requirements
//! and design too); engine checks the draft and writes it. The work is in [`crate::plan`]; this
//! file parses the arguments, talks to the terminal and prints.

use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{Value, json};

use crate::plan::setup::SetupOptions;
use crate::plan::{self, Console, Exchange, PlanError, PlanOptions, Planned, Setup};
use crate::terminal::safe;
use crate::{EngineError, exit};

/// The largest `--answers` file read.
const MAX_ANSWERS_BYTES: u64 = 64 * 1024;
/// Characters of an agent message shown as progress.
const PROGRESS_CHARS: usize = 160;

/// Arguments of `engine plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// What to build, in a sentence or a paragraph.
    pub description: String,
    /// Also draft requirements.md (REQ-001...) and design.md (DESIGN-001...) beside the tasks
    /// file, the tasks tracing to them.
    #[arg(long)]
    pub full: bool,
    /// The agent backend (claude, codex, gemini, opencode, aider, cursor, or a custom backend
    /// of the workflow). Default: claude.
    #[arg(long, value_name = "NAME")]
    pub backend: Option<String>,
    /// The model, or a tier of the workflow's `models:`. Default: the CLI's own.
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,
    /// The tasks file. Default: spec/tasks.md at the repository root.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace existing files instead of appending to them.
    #[arg(long)]
    pub force: bool,
    /// Write without asking for confirmation on a terminal.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print the checked draft; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON document (what was written, the tasks) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Answers to the agent's questions, given in advance (any text, e.g. the questions an
    /// earlier run printed, each followed by its answer). Without a terminal the agent is told
    /// not to ask.
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,
    /// The most rounds of questions on a terminal.
    #[arg(long, value_name = "N", default_value_t = plan::DEFAULT_MAX_ROUNDS)]
    pub max_rounds: u32,
    /// The workflow whose `agents:` and `sandbox:` settings are used. Default:
    /// workflows/engine.yaml when the repository has it, else the built-in defaults.
    #[arg(long, value_name = "FILE")]
    pub workflow: Option<PathBuf>,
}

pub(super) async fn execute(args: PlanArgs, state_dir: Option<&Path>) -> Result<u8, EngineError> {
    if args.description.trim().is_empty() {
        return Err(EngineError::Usage(
            "the description is empty; say what to build".into(),
        ));
    }
    let answers = args.answers.as_deref().map(read_answers).transpose()?;
    let setup = Setup::prepare(&SetupOptions {
        state_dir: state_dir.map(Path::to_path_buf),
        workflow: args.workflow.clone(),
        backend: args.backend.clone(),
        model: args.model.clone(),
        out: args.out.clone(),
        full: args.full,
    });
    let options = PlanOptions {
        description: args.description.clone(),
        full: args.full,
        force: args.force,
        dry_run: args.dry_run,
        yes: args.yes,
        answers,
        max_rounds: args.max_rounds,
    };
    let mut console = Terminal {
        interactive: std::io::stdin().is_terminal(),
    };
    let result = match setup {
        Ok(setup) => plan::plan(setup, &options, &mut console).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(planned) => {
            print_planned(&planned, &args)?;
            Ok(exit::SUCCESS)
        }
        Err(PlanError::Engine(e)) => Err(e),
        Err(e) => {
            for line in format!("error: {e}").split('\n') {
                eprintln!("{}", crate::terminal::for_stderr(&safe(line)));
            }
            if args.json {
                super::print_json(&error_document(&e))?;
            }
            Ok(e.exit_code())
        }
    }
}

fn read_answers(path: &Path) -> Result<String, EngineError> {
    let shown = safe(&path.display().to_string()).into_owned();
    let metadata = std::fs::metadata(path)
        .map_err(|e| EngineError::Usage(format!("--answers {shown}: {e}")))?;
    if !metadata.is_file() || metadata.len() > MAX_ANSWERS_BYTES {
        return Err(EngineError::Usage(format!(
            "--answers {shown}: give a regular file of at most {MAX_ANSWERS_BYTES} bytes"
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| EngineError::Usage(format!("--answers {shown}: {e}")))?;
    Ok(text
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect())
}

/// The JSON error document (the shape every command uses), with the questions or problems.
fn error_document(e: &PlanError) -> Value {
    let mut error = json!({
        "message": e.to_string(),
        "exit_code": e.exit_code(),
        "kind": "plan",
    });
    match e {
        PlanError::Unanswered { questions, .. } => error["questions"] = json!(questions),
        PlanError::InvalidDraft { problems, saved } => {
            error["problems"] = json!(problems);
            error["saved"] = json!(saved);
        }
        _ => {}
    }
    json!({ "error": error })
}

fn print_planned(planned: &Planned, args: &PlanArgs) -> Result<(), EngineError> {
    if args.json {
        let draft: serde_json::Map<String, Value> = plan::reply::DOCUMENTS
            .iter()
            .filter_map(|d| Some((d.name().to_string(), json!(planned.draft.get(*d)?))))
            .collect();
        return super::print_json(&json!({
            "written": planned.written,
            "dry_run": args.dry_run,
            "files": planned.files,
            "tasks": planned.tasks.iter().map(|t| json!({
                "id": t.id, "title": t.title, "milestone": t.milestone,
                "priority": t.priority, "depends_on": t.depends_on,
                "checklist": t.checklist.iter().map(|c| &c.text).collect::<Vec<_>>(),
                "traces": t.traces,
            })).collect::<Vec<_>>(),
            "draft": draft,
            "questions": planned.dialogue,
            "sessions": planned.sessions,
            "cost_usd": planned.cost_usd,
            "saved": planned.saved,
        }));
    }
    let mut out = String::new();
    if args.dry_run {
        for file in &planned.files {
            let document = plan::reply::DOCUMENTS
                .into_iter()
                .find(|d| file.path.ends_with(d.name()));
            if let Some(text) = document.and_then(|d| planned.draft.get(d)) {
                let _ = writeln!(out, "--- {} ---", safe(&file.path));
                for line in text.lines() {
                    out.push_str(&safe(line));
                    out.push('\n');
                }
            }
        }
    }
    let verb = |action: plan::Action| match (planned.written, action) {
        (true, plan::Action::Create) => "created",
        (true, plan::Action::Append) => "appended to",
        (true, plan::Action::Replace) => "replaced",
        (false, plan::Action::Create) => "would create",
        (false, plan::Action::Append) => "would append to",
        (false, plan::Action::Replace) => "would replace",
    };
    for file in &planned.files {
        let _ = writeln!(out, "{} {}", verb(file.action), safe(&file.path));
    }
    for task in &planned.tasks {
        let deps = if task.depends_on.is_empty() {
            String::new()
        } else {
            format!("  (depends on {})", task.depends_on.join(", "))
        };
        let _ = writeln!(
            out,
            "  {}  {}{}",
            safe(&task.id),
            safe(&task.title),
            safe(&deps)
        );
    }
    let _ = writeln!(
        out,
        "{} new task{}{}",
        planned.tasks.len(),
        if planned.tasks.len() == 1 { "" } else { "s" },
        if planned.written {
            "; `engine tasks` lists them, `engine run --all` works through them"
        } else {
            " (dry run: nothing written)"
        }
    );
    print!("{out}");
    Ok(())
}

/// The process's terminal: questions and the confirmation on stderr, answers from stdin.
struct Terminal {
    interactive: bool,
}

impl Console for Terminal {
    fn interactive(&self) -> bool {
        self.interactive
    }

    fn ask(&mut self, questions: &[String]) -> std::io::Result<Vec<Exchange>> {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        let mut output = std::io::stderr().lock();
        plan::dialogue::ask(questions, &mut input, &mut output)
    }

    fn confirm(&mut self, summary: &str) -> std::io::Result<bool> {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        let mut output = std::io::stderr().lock();
        writeln!(output, "{}", safe(summary))?;
        plan::dialogue::confirm("Write it?", &mut input, &mut output)
    }

    fn progress(&mut self, text: &str) {
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let clipped: String = first.chars().take(PROGRESS_CHARS).collect();
        if !clipped.is_empty() {
            eprintln!("  plan · agent: {}", safe(&clipped));
        }
    }
}
