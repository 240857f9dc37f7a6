//! `engine plan`: an agent session drafts `spec/tasks.md` (and, with `--full`, the
//! requirements and design documents) from a one-line description; engine checks the draft with
//! the same parser the run modes use and only then writes it, appending after every existing
//! byte unless `--force` replaces the file.
//!
//! The agent never writes: it sees the repository read-only and answers in its final message,
//! either with clarifying questions ([`reply`]) or with the draft. Questions are put to the user
//! on a terminal ([`dialogue`]) and the dialogue goes back to the agent (resuming its session
//! when the backend can); without a terminal the agent is told not to ask, and questions are an
//! error naming them. A draft that fails the [`check`] is sent back once with every problem;
//! still wrong, nothing is written and the draft is kept in the state directory.

pub mod check;
pub mod dialogue;
pub mod error;
pub mod files;
pub mod prompt;
pub mod reply;
pub mod session;
pub mod setup;
pub mod spec_docs;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use engine_tasks::Task;

pub use dialogue::Exchange;
pub use error::PlanError;
pub use files::Action;
pub use reply::Draft;
pub use setup::Setup;

use check::{CheckSite, Checked};
use files::Target;
use prompt::PromptInput;
use reply::Reply;
use session::Agent;

/// The default number of question rounds.
pub const DEFAULT_MAX_ROUNDS: u32 = 3;
/// The longest earlier answer repeated to a new session on a retry (characters).
const MAX_PREVIOUS_CHARS: usize = 64 * 1024;
/// How often the write starts over when the files change under it.
const WRITE_TRIES: usize = 5;

/// What to plan.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// The user's description.
    pub description: String,
    /// `--full`: requirements and design too.
    pub full: bool,
    /// `--force`: replace existing files.
    pub force: bool,
    /// `--dry-run`: write nothing.
    pub dry_run: bool,
    /// `--yes`: no confirmation.
    pub yes: bool,
    /// The `--answers` file's text.
    pub answers: Option<String>,
    /// The most question rounds.
    pub max_rounds: u32,
}

/// The user's side of the conversation (a terminal, or nothing).
pub trait Console: Send {
    /// Whether questions can be asked and answered (stdin is a terminal).
    fn interactive(&self) -> bool;
    /// Puts the agent's questions to the user.
    fn ask(&mut self, questions: &[String]) -> std::io::Result<Vec<Exchange>>;
    /// Shows `summary` and asks whether to write.
    fn confirm(&mut self, summary: &str) -> std::io::Result<bool>;
    /// A message the agent wrote while it works.
    fn progress(&mut self, text: &str);
}

/// One file of the result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlannedFile {
    /// The path, relative to the repository root.
    pub path: String,
    /// What happened (or, with `--dry-run`, would happen) to it.
    pub action: Action,
}

/// What `engine plan` did.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The files, tasks last.
    pub files: Vec<PlannedFile>,
    /// The new tasks.
    pub tasks: Vec<Task>,
    /// The accepted draft.
    pub draft: Draft,
    /// Whether the files were written (not with `--dry-run`).
    pub written: bool,
    /// Agent sessions run.
    pub sessions: u32,
    /// The questions asked and their answers.
    pub dialogue: Vec<Exchange>,
    /// Where the replies and the draft are kept.
    pub saved: PathBuf,
    /// What the sessions cost, when known.
    pub cost_usd: Option<f64>,
}

/// Plans: runs the agent until it gives a valid draft (or fails), then writes it unless
/// `--dry-run` or the user declines.
pub async fn plan(
    setup: Setup,
    options: &PlanOptions,
    console: &mut dyn Console,
) -> Result<Planned, PlanError> {
    let Setup {
        agent,
        host,
        targets,
        plan_dir,
    } = setup;
    let agent = Agent::new(agent)?;
    let site = CheckSite {
        host: &host,
        scratch: &plan_dir,
        targets: &targets,
        full: options.full,
        force: options.force,
    };
    let mut base = base_prompt(&site, options).await?;
    let mut sessions = 0;
    let mut question_rounds = 0;
    let mut retried = false;
    let mut resume = None;
    let (checked, draft) = loop {
        let may_ask = console.interactive() && question_rounds < options.max_rounds;
        base.may_ask = may_ask;
        let text = prompt::render(&base)?;
        sessions += 1;
        let answer = agent
            .ask(text, resume.clone(), &mut |t| console.progress(t))
            .await?;
        save(&plan_dir.join(format!("reply-{sessions}.md")), &answer.text)?;
        resume = answer.resume;
        let problems = match reply::parse(&answer.text) {
            Ok(Reply::Questions(questions)) if may_ask => {
                question_rounds += 1;
                let exchanges = console
                    .ask(&questions)
                    .map_err(|e| PlanError::io(std::path::Path::new("<stdin>"), e))?;
                base.dialogue.extend(exchanges);
                base.problems.clear();
                base.previous = None;
                continue;
            }
            Ok(Reply::Questions(questions)) => {
                let why = if console.interactive() {
                    format!(
                        "the {} question round{} (--max-rounds) are used up",
                        options.max_rounds,
                        if options.max_rounds == 1 { "" } else { "s" }
                    )
                } else {
                    "there is no terminal to answer them (stdin is not a terminal)".to_string()
                };
                return Err(PlanError::Unanswered { questions, why });
            }
            Ok(Reply::Draft(draft)) => {
                save_draft(&plan_dir, &draft)?;
                match check::check(&site, &draft).await? {
                    Ok(checked) => break (checked, draft),
                    Err(problems) => problems,
                }
            }
            Err(problems) => problems,
        };
        if retried {
            return Err(PlanError::InvalidDraft {
                problems,
                saved: plan_dir.clone(),
            });
        }
        retried = true;
        base.problems = problems;
        base.previous = resume
            .is_none()
            .then(|| answer.text.chars().take(MAX_PREVIOUS_CHARS).collect());
    };
    let mut draft = draft;
    if !options.full {
        // Documents drafted without --full are neither checked nor written.
        draft.requirements = None;
        draft.design = None;
    }
    let mut planned = Planned {
        files: planned_files(&checked),
        tasks: checked.new_tasks.clone(),
        draft,
        written: false,
        sessions,
        dialogue: base.dialogue,
        saved: plan_dir.clone(),
        cost_usd: agent.spent_usd(),
    };
    if options.dry_run {
        return Ok(planned);
    }
    if console.interactive() && !options.yes {
        let confirmed = console
            .confirm(&summary_line(&planned))
            .map_err(|e| PlanError::io(std::path::Path::new("<stdin>"), e))?;
        if !confirmed {
            return Err(PlanError::Declined(plan_dir));
        }
    }
    let written = write(&site, &planned.draft, checked).await?;
    planned.files = planned_files(&written);
    planned.tasks = written.new_tasks;
    planned.written = true;
    Ok(planned)
}

/// One line saying what would be written: `spec/tasks.md: append 3 tasks (TASK-004, ...)`.
pub fn summary_line(planned: &Planned) -> String {
    let ids: Vec<&str> = planned.tasks.iter().map(|t| t.id.as_str()).collect();
    let files: Vec<String> = planned
        .files
        .iter()
        .map(|f| {
            let verb = match f.action {
                Action::Create => "create",
                Action::Append => "append to",
                Action::Replace => "replace",
            };
            format!("{verb} {}", f.path)
        })
        .collect();
    format!(
        "{} new task{} ({}): {}",
        ids.len(),
        if ids.len() == 1 { "" } else { "s" },
        ids.join(", "),
        files.join(", ")
    )
}

/// The prompt's facts: existing tasks and ids, where new ids start.
async fn base_prompt(
    site: &CheckSite<'_>,
    options: &PlanOptions,
) -> Result<PromptInput, PlanError> {
    let tasks_target = &site.targets[0];
    let existing = check::existing_tasks(site, tasks_target).await?;
    let ids: Vec<&str> = existing.iter().map(|t| t.id.as_str()).collect();
    let id_prefix = prompt::id_prefix(ids.iter().copied());
    let next_id = prompt::next_id(&id_prefix, ids.iter().copied());
    let mut spec_ids = Vec::new();
    for target in &site.targets[1..] {
        let replaced = options.force && options.full;
        if let Some(text) = target.current.as_deref().filter(|_| !replaced) {
            let prefixes = match target.document {
                reply::Document::Requirements => spec_docs::REQUIREMENT_PREFIXES,
                _ => spec_docs::DESIGN_PREFIXES,
            };
            spec_ids.extend(
                spec_docs::read(text, prefixes)
                    .defined
                    .into_iter()
                    .map(|(id, _)| id),
            );
        }
    }
    let next_req = prompt::next_id("REQ", spec_ids.iter().map(String::as_str));
    let next_design = prompt::next_id("DESIGN", spec_ids.iter().map(String::as_str));
    Ok(PromptInput {
        description: options.description.clone(),
        dialogue: Vec::new(),
        answers: options.answers.clone(),
        tasks_path: tasks_target.shown.clone(),
        existing: existing
            .iter()
            .map(|t| prompt::ListedTask {
                id: t.id.clone(),
                status: t.status.to_string(),
                milestone: t.milestone.clone(),
                title: t.title.chars().filter(|c| !c.is_control()).collect(),
            })
            .collect(),
        id_prefix,
        next_id,
        spec_ids,
        next_req,
        next_design,
        full: options.full,
        may_ask: false,
        max_questions: reply::MAX_QUESTIONS,
        problems: Vec::new(),
        previous: None,
    })
}

/// Writes the checked files, documents first and the tasks file last (so no task ever traces
/// to an item not yet written). Each file is read again first: when one changed since it was
/// checked (a run wrote a status back), the draft is composed and checked again on the new
/// text, up to [`WRITE_TRIES`] times.
async fn write(
    site: &CheckSite<'_>,
    draft: &Draft,
    mut checked: Checked,
) -> Result<Checked, PlanError> {
    for _ in 0..WRITE_TRIES {
        let now: Vec<Target> = site
            .targets
            .iter()
            .map(Target::reread)
            .collect::<Result<_, _>>()?;
        let unchanged = checked.files.iter().all(|(target, _)| {
            now.iter()
                .find(|t| t.path == target.path)
                .is_some_and(|t| t.current == target.current)
        });
        if unchanged {
            for (target, composed) in &checked.files {
                files::write_atomic(&target.path, &composed.text)?;
            }
            return Ok(checked);
        }
        let again = CheckSite {
            targets: &now,
            ..*site
        };
        checked = match check::check(&again, draft).await? {
            Ok(checked) => checked,
            Err(problems) => {
                return Err(PlanError::InvalidDraft {
                    problems,
                    saved: site.scratch.to_path_buf(),
                });
            }
        };
    }
    let shown: Vec<&str> = site.targets.iter().map(|t| t.shown.as_str()).collect();
    Err(PlanError::Contended(shown.join(", ")))
}

fn planned_files(checked: &Checked) -> Vec<PlannedFile> {
    checked
        .files
        .iter()
        .map(|(target, composed)| PlannedFile {
            path: target.shown.clone(),
            action: composed.action,
        })
        .collect()
}

fn save(path: &std::path::Path, text: &str) -> Result<(), PlanError> {
    std::fs::write(path, text).map_err(|e| PlanError::io(path, e))
}

/// Keeps the draft's documents under the plan's directory (`draft/tasks.md`...).
fn save_draft(plan_dir: &std::path::Path, draft: &Draft) -> Result<(), PlanError> {
    let dir = plan_dir.join("draft");
    std::fs::create_dir_all(&dir).map_err(|e| PlanError::io(&dir, e))?;
    for document in reply::DOCUMENTS {
        if let Some(text) = draft.get(document) {
            save(&dir.join(document.name()), text)?;
        }
    }
    Ok(())
}
