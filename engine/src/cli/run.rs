//! `engine run FILE`: run a workflow for one task in a fresh worktree — an inline task
//! (`--task TEXT`, `--task-file`), a task of the workflow's task source (`--task ID`, or the
//! next ready one) — or, with `--all`, every ready task (see [`super::run_modes`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use engine_core::Task;

use super::drive::{drive_and_report, progress};
use crate::control::{Finish, Holding, Request, SessionSubmission, Submission};
use crate::output::Output;
use crate::project::{PreparedWorkflow, Project, host};
use crate::queue::{self, Begun, Lifecycle, LifecycleSetup, Pick, RunRequest, TaskSource};
use crate::report::{FirstRunId, Listening, Reporter};
use crate::terminal::{cell, safe};
use crate::{EngineError, exit};

/// Arguments of `engine run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The workflow file (default: `workflows/engine.yaml` of the repository, the one
    /// `engine init` writes).
    pub workflow: Option<PathBuf>,
    /// The task: the id of a task of the workflow's task source, or the task as text (first
    /// line = title). Without --task and --task-file, a workflow with a task source runs its
    /// next ready task.
    #[arg(long, conflicts_with = "task_file")]
    pub task: Option<String>,
    /// Read the task from a file (first line = title).
    #[arg(long, value_name = "FILE")]
    pub task_file: Option<PathBuf>,
    /// A label of the task (repeatable): `builtin:triage` rules and `if:` conditions
    /// (`'docs' in task.labels`) read them.
    #[arg(long = "label", value_name = "LABEL")]
    pub labels: Vec<String>,
    /// Base branch to start from and merge into (default: the workflow's `git.base`, else
    /// origin's HEAD branch, else main, else master, else the current branch).
    #[arg(long)]
    pub base: Option<String>,
    /// Print only a JSON document on stdout (the finished run; with --all or --dry-run, the
    /// session or the plan).
    #[arg(long)]
    pub json: bool,
    /// Run every ready task of the workflow's task source, one after another, until none is
    /// ready (tasks that become ready on the way follow).
    #[arg(long, conflicts_with_all = ["task", "task_file"])]
    pub all: bool,
    /// With --all: up to N runs at once, each in its own worktree.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
    /// Print what would run (the next task; with --all every task, in order), and why the
    /// other tasks would not; run nothing.
    #[arg(long, conflicts_with_all = ["task", "task_file"])]
    pub dry_run: bool,
    /// Start a task whose last run failed over in a new run (default: that run goes on from
    /// the stage that failed, keeping what succeeded before it, when the workflow is
    /// unchanged).
    #[arg(long, conflicts_with = "task_file")]
    pub fresh: bool,
    /// Start no new run after this time: a local clock time (`18:30`), a duration from now
    /// (`2h`, `90m`) or an RFC 3339 time.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// With --all or --dry-run: only the tasks of this epic, in dependency order (a tasks.md
    /// milestone: `1`, `Milestone 1` or its heading's text; a GitHub milestone's title; a Beads
    /// epic's id). Tasks of other epics still count as dependencies. See docs/epics.md.
    #[arg(long, value_name = "ID")]
    pub epic: Option<String>,
}

impl RunArgs {
    /// The workflow file as given (after [`execute`] resolved the default: the resolved one).
    pub(super) fn workflow(&self) -> &Path {
        self.workflow
            .as_deref()
            .unwrap_or(Path::new(super::workflow_path::DEFAULT_WORKFLOW))
    }
}

pub(super) async fn execute(
    mut args: RunArgs,
    state_dir: Option<&Path>,
) -> Result<u8, EngineError> {
    args.workflow = Some(super::workflow_path::resolve(args.workflow.as_deref())?);
    if args.parallel > 1 && !args.all {
        return Err(EngineError::Usage(
            "--parallel needs --all (one `engine run` runs one task)".into(),
        ));
    }
    if args.epic.is_some() && !args.all && !args.dry_run {
        return Err(EngineError::Usage(
            "--epic needs --all or --dry-run (it runs every ready task of one epic)".into(),
        ));
    }
    let project = Project::locate(state_dir)?;
    let workflow_file = absolute(args.workflow())?;
    let loaded = engine_workflow::load_file(&workflow_file)?;
    check_base(&project.repo, args.base.as_deref(), &loaded)?;
    if args.dry_run {
        let host = host()?;
        let prepared = PreparedWorkflow::prepare(&host, loaded).await?;
        let source = TaskSource::of(&host, &prepared, project.repo.root().to_path_buf());
        return super::run_modes::dry_run_command(args, project, prepared, source).await;
    }
    if args.all {
        let holder = format!(
            "engine run --all {} (pid {})",
            args.workflow().display(),
            std::process::id()
        );
        let session = SessionSubmission {
            workflow: args.workflow().to_path_buf(),
            workflow_file,
            watch_ms: None,
            parallel: args.parallel,
            until: args.until,
            base: args.base,
            labels: args.labels,
            json: args.json,
            fresh: args.fresh,
            env: crate::secrets::environment_digests(),
            epic: args.epic,
        };
        return Box::pin(super::hold::execute(
            &project,
            Request::Session(session),
            &holder,
        ))
        .await;
    }
    // Read here, before anything starts: a missing or unreadable task file is the user's
    // mistake, and the process that runs the task may not see this terminal's files.
    let task_text = match &args.task_file {
        Some(file) => Some(read_task_file(file)?),
        None => None,
    };
    let holder = format!(
        "engine run {} (pid {})",
        args.workflow().display(),
        std::process::id()
    );
    let submission = Submission {
        workflow_file,
        task: args.task,
        task_text,
        labels: args.labels,
        base: args.base,
        json: args.json,
        until: args.until,
        fresh: args.fresh,
        env: crate::secrets::environment_digests(),
    };
    // Refused here rather than by the process that would run it.
    task_from(&submission)?;
    Box::pin(super::hold::execute(
        &project,
        Request::Run(submission),
        &holder,
    ))
    .await
}

/// Runs one task as `submission` asks, in the process holding the state directory
/// (`holding`), printing on `output`: this terminal's streams, or those of the terminal that
/// `submitted` it.
pub(super) async fn run_one(
    holding: &Holding,
    submission: Submission,
    output: Arc<dyn Output>,
    submitted: bool,
) -> Result<Finish, EngineError> {
    let loaded = engine_workflow::load_file(&submission.workflow_file)?;
    check_base(&holding.repo, submission.base.as_deref(), &loaded)?;
    if submitted {
        warn_of_environment(&loaded, &submission.env, output.as_ref());
    }
    let inline_task = task_from(&submission)?;
    let host = holding.host.clone();
    let prepared = PreparedWorkflow::prepare(&host, loaded).await?;
    let source = TaskSource::of(&host, &prepared, holding.repo.root().to_path_buf());
    let clock = holding.clock.clone();
    let limits = super::run_modes::limits(submission.until.as_deref(), &prepared, clock.now_ms())?;
    let json = submission.json;
    let printer = Arc::new(Listening {
        inner: progress(&output, json),
        listener: FirstRunId::new(output.clone(), !json),
    });
    let reporter: Arc<dyn Reporter> = printer.clone();
    let lifecycle = Lifecycle::new(LifecycleSetup {
        repo: holding.repo.clone(),
        state_dir: holding.state_dir.clone(),
        host,
        prepared: Arc::new(prepared),
        workflow_file: submission.workflow_file.clone(),
        // A task file is the task: the source is neither read nor written.
        source: source.filter(|_| submission.task_text.is_none()),
        base: submission.base.clone(),
        labels: submission.labels.clone(),
        retry_failed: !submission.fresh,
        clock,
        reporter: reporter.clone(),
    });

    // One pick at a time in this process, until the picked task's run is recorded: two
    // terminals asking for "the next ready task" get two different tasks.
    let picking = queue::PICK_TURN.lock().await;
    let picked = pick_task(&lifecycle, &submission, reporter.as_ref(), output.as_ref()).await?;
    if matches!(picked, Pick::Nothing(_)) {
        return Ok(Finish::Exit(exit::NO_TASK));
    }
    // Limits before anything of the run exists, the claim included.
    let setup = &lifecycle.setup;
    limits.check_new_run(lifecycle.store(), &setup.prepared, setup.clock.now_ms())?;

    let request = match (picked, &setup.source) {
        (Pick::Source { task, resume }, Some(source)) => {
            if !json {
                let how = match &resume {
                    Some(run_id) => format!("resuming run {run_id}"),
                    None => format!("from {}", source.describe()),
                };
                output.err(&format!(
                    "task {}: {} ({})",
                    cell(&task.id),
                    cell(&task.title),
                    safe(&how)
                ));
            }
            RunRequest::Source { task, resume }
        }
        _ => RunRequest::Inline(inline_task),
    };
    // A resumed run goes on with the workflow it was started with.
    let begun = lifecycle.begin(request).await;
    drop(picking);
    let started = match begun? {
        Begun::Run(started) => *started,
        Begun::Refused(why) => return Err(EngineError::Usage(why)),
    };
    // A run taken up again was not recorded now: its id is printed here.
    printer.run_recorded(&started.meta.run_id);
    // Boxed: the future that drives the run is kilobytes large.
    Box::pin(drive_and_report(
        &lifecycle,
        holding,
        started,
        reporter,
        (&output, json, submitted),
    ))
    .await
}

/// Says on the submitting terminal's `output` which of the variables a run of `loaded` reads
/// (`PATH`, its secrets) this process sees with other values than that terminal (`theirs`):
/// the run uses this process's.
pub(super) fn warn_of_environment(
    loaded: &engine_workflow::LoadedWorkflow,
    theirs: &std::collections::BTreeMap<String, String>,
    output: &dyn Output,
) {
    let differing = crate::secrets::differing(&crate::secrets::environment_read(loaded), theirs);
    if !differing.is_empty() {
        output.err(&safe(&format!(
            "warning: this goes on in engine process {}, whose environment differs from this \
             terminal's in {}: the runs use that process's values",
            std::process::id(),
            differing.join(", ")
        )));
    }
}

/// What this `engine run` works on (see [`queue::pick`]): after the ends the source did not get
/// are written back, a task of the source, or the inline task. When no task of the source is
/// ready, says why for each (and the caller exits).
async fn pick_task(
    lifecycle: &Lifecycle,
    submission: &Submission,
    reporter: &dyn Reporter,
    output: &dyn Output,
) -> Result<Pick, EngineError> {
    let Some(source) = &lifecycle.setup.source else {
        return Ok(Pick::Inline);
    };
    lifecycle.reconcile().await?;
    let listing = match (lifecycle.list().await, submission.task.as_deref()) {
        (Ok(listing), _) => listing,
        // Inline text does not need the source: a source that cannot be read now does not
        // keep it from running.
        (Err(e), Some(text)) if !queue::looks_like_id(text) => {
            reporter.warning(&format!(
                "the task source cannot be read ({e}); running the inline task"
            ));
            return Ok(Pick::Inline);
        }
        (Err(e), _) => return Err(e),
    };
    let picked = queue::pick(&listing, &lifecycle.known()?, submission.task.as_deref())?;
    if let Pick::Nothing(plan) = &picked {
        output.err(&format!(
            "no task of {} is ready:",
            safe(&source.describe())
        ));
        for entry in &plan.entries {
            let task = &listing.tasks[entry.index];
            output.err(&format!(
                "  {}  {}",
                cell(&task.id),
                safe(&queue::verdict_text(&entry.verdict))
            ));
        }
    }
    Ok(picked)
}

/// The largest `--task-file` engine reads (a task is a title and a description).
pub const MAX_TASK_FILE_BYTES: u64 = 1 << 20;

/// Refuses a repository without commits, and a base (`--base`, else the workflow's `git.base`)
/// that is not a branch name or that names nothing in the repository, before anything of a run
/// exists.
pub(super) fn check_base(
    repo: &engine_git::Repo,
    base: Option<&str>,
    loaded: &engine_workflow::LoadedWorkflow,
) -> Result<(), EngineError> {
    if let Err(engine_git::GitError::UnknownRevision(_)) = repo.rev_parse("HEAD^{commit}") {
        return Err(EngineError::Usage(format!(
            "{} has no commits yet: a run starts from a commit of the base branch; commit \
             something first (e.g. `git commit --allow-empty -m \"Initial commit\"`)",
            repo.root().display()
        )));
    }
    let (base, origin) = match (base, loaded.git.base.as_deref()) {
        (Some(base), _) => (base, "--base"),
        (None, Some(base)) => (base, "git.base"),
        (None, None) => return Ok(()),
    };
    engine_workflow::check_base(base)
        .map_err(|why| EngineError::Usage(format!("{origin}: {}", safe(&why))))?;
    match repo.rev_parse(&format!("{base}^{{commit}}")) {
        Ok(_) => Ok(()),
        Err(engine_git::GitError::UnknownRevision(_)) => Err(EngineError::Usage(format!(
            "{origin}: no branch or commit \"{}\" in {} (list branches with `git branch`)",
            safe(base),
            repo.root().display()
        ))),
        Err(e) => Err(e.into()),
    }
}

fn absolute(path: &Path) -> Result<PathBuf, EngineError> {
    std::path::absolute(path).map_err(|e| EngineError::io(path, e))
}

/// The text of `--task-file`.
fn read_task_file(file: &Path) -> Result<String, EngineError> {
    engine_workflow::read_text_file(file, MAX_TASK_FILE_BYTES, "the task file").map_err(|why| {
        EngineError::Usage(format!(
            "--task-file {}: {why}",
            safe(&file.display().to_string())
        ))
    })
}

/// The task from `--task`/`--task-file`; without either, a task named after the workflow.
pub(super) fn task_from(submission: &Submission) -> Result<Task, EngineError> {
    let given = submission.task.is_some() || submission.task_text.is_some();
    let text = submission
        .task
        .as_deref()
        .or(submission.task_text.as_deref())
        .unwrap_or_default()
        .trim();
    if text.is_empty() {
        if given {
            return Err(EngineError::Usage("the task is empty".into()));
        }
        let name = submission
            .workflow_file
            .file_stem()
            .map_or_else(|| "run".into(), |s| s.to_string_lossy().into_owned());
        return Ok(crate::tasks::adhoc::unnamed(
            &name,
            submission.labels.clone(),
        ));
    }
    Ok(crate::tasks::adhoc::from_text(
        text,
        submission.labels.clone(),
    ))
}
