//! The CLI commands. Each command lives in its own file; [`main`] dispatches and turns errors
//! into messages and exit codes (see [`crate::exit`]).

mod approve;
mod bug_report;
mod cancel;
mod completions;
pub mod console;
mod costs;
mod drive;
mod failure;
mod gc;
mod hold;
mod hook_receiver;
mod init;
mod logs;
mod mcp;
mod pause;
mod plan;
mod plugin;
mod readonly;
mod resume;
mod retry;
mod reviews;
mod run;
mod run_control;
mod run_modes;
mod runs;
mod schema;
mod serve;
mod session;
mod show;
mod skills;
mod spec;
pub(crate) mod streams;
mod tasks;
mod tasks_commands;
mod tasks_sync;
mod validate;
mod watch;
mod workflow_path;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::{EngineError, exit};

/// engine: run agentic-coding pipelines whose stages are sandboxed WebAssembly components.
#[derive(Debug, Parser)]
#[command(name = "engine", version, about, long_about = None)]
pub struct Cli {
    /// State directory (default: `.engine` at the repository root).
    #[arg(long, global = true, env = "ENGINE_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// The command.
    #[command(subcommand)]
    pub command: Commands,
}

/// The commands of the `engine` binary.
#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Run a workflow for a task in a fresh worktree (the next ready task of its task source
    /// without --task; with --all every ready task); exits 0 only if the run succeeded.
    Run(run::RunArgs),
    /// Run the ready tasks of a workflow's task source as they become ready, until
    /// SIGINT/SIGTERM: `engine run FILE --all` that keeps watching the source.
    Watch(watch::WatchArgs),
    /// Write a commented workflow for this repository (test command and agent CLI detected).
    Init(init::InitArgs),
    /// Continue a run that was interrupted (crash, kill, Ctrl-C) from its last stored transition.
    Resume(resume::ResumeArgs),
    /// Check a workflow: schema, stage graph, plugins, configs and permissions.
    Validate(validate::ValidateArgs),
    /// Print the workflow JSON Schema (for editors: `engine schema > workflow.schema.json`).
    Schema,
    /// List runs, newest first.
    Runs(runs::RunsArgs),
    /// Show one run (the latest without RUN): stages in pipeline order, attempts, outcomes,
    /// durations, costs.
    Show(show::ShowArgs),
    /// What the runs spent (USD and tokens), summed by day, task, stage or model.
    Costs(costs::CostsArgs),
    /// Everything a run's stages printed (the latest run without RUN): command output, log
    /// lines, the agent's text and tool calls; -f follows the run until it is over.
    Logs(logs::LogsArgs),
    /// List the tasks of a task source (a workflow's `tasks:`, or a tasks file): status,
    /// priority, whether each is ready and, if not, what blocks it.
    Tasks(tasks::TasksArgs),
    /// Cancel a run (asks the engine process driving it, if any, to stop it).
    Cancel(cancel::CancelArgs),
    /// Approve a stage that waits for a human (`uses: builtin:approval`).
    Approve(approve::ApproveArgs),
    /// Reject a stage that waits for a human; the reason becomes the feedback when the run
    /// goes back (`on_failure`).
    Reject(approve::RejectArgs),
    /// Run an ended run (failed, cancelled, needs attention) again from a stage (default: the
    /// one that failed): it and every stage after it run again, earlier results are kept.
    Retry(retry::RetryArgs),
    /// Pause a run: no new attempt starts (running ones finish); survives restarts.
    Pause(pause::PauseArgs),
    /// Let a paused run go on.
    Unpause(pause::PauseArgs),
    /// Remove what finished runs left behind (worktrees; with --branches, merged run branches).
    /// Never touches a run that can still be resumed.
    Gc(gc::GcArgs),
    /// Print webhook deliveries sent to a loopback address, one JSON line each (for trying
    /// notifiers locally; the demo uses it). Prints its URL first.
    #[command(name = "hook-receiver")]
    HookReceiver(hook_receiver::HookReceiverArgs),
    /// A scripted stand-in for agent CLIs (Claude Code, Codex) for tests and demos: plays a
    /// YAML script in their stream formats. See docs/agents.md.
    #[command(name = "scripted-agent", disable_help_flag = true)]
    ScriptedAgent {
        /// Its arguments (`--script FILE --as claude|codex` then the CLI's own flags).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<std::ffi::OsString>,
    },
    /// Print a shell completion script (`engine completions bash > FILE`; see the user guide
    /// for where each shell looks).
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff): `engine man | man -l -`.
    Man,
    /// Serve the repository's runs and tasks to agents and editors as MCP tools on
    /// stdin/stdout (read runs, tasks, logs, costs; start, cancel, approve, retry runs). See the
    /// user guide, "MCP".
    Mcp(mcp::McpArgs),
    /// Hold the repository's state directory and serve a live dashboard, a JSON API with
    /// live events, Prometheus metrics and MCP over HTTP (loopback by default); runs started
    /// anywhere in the repository show up there. See docs/http-api.md.
    Serve(serve::ServeArgs),
    /// Draft spec/tasks.md from a description with an agent (with --full, requirements and
    /// design too); the draft is checked before anything is written. See docs/plan.md.
    Plan(plan::PlanArgs),
    /// Plugin authors' commands: create, build, check, describe, run and pin a stage or task
    /// source component. See docs/plugins/.
    Plugin(plugin::PluginArgs),
    /// Answer review feedback on the pull requests engine opened: run the fix pipeline on each
    /// PR's branch, push the fix there and reply to each comment. See docs/pr-reviews.md.
    Reviews(reviews::ReviewsArgs),
    /// Traceability over spec/ (requirements, design, tasks): `engine spec audit` checks the
    /// links, `engine spec report` prints the requirement → tasks → runs matrix. See
    /// docs/traceability.md.
    Spec(spec::SpecArgs),
    /// Skills: `engine skills check` validates skill files, `engine skills expand NAME` turns a
    /// skill's stories into tasks of a tasks.md. See docs/skills.md.
    Skills(skills::SkillsArgs),
    /// Write a tar of a run's log, `show --json`, versions, workflow and setup for a bug
    /// report, every secret redacted (the latest run without RUN). See docs/bug-report.md.
    #[command(name = "bug-report")]
    BugReport(bug_report::BugReportArgs),
}

/// Parses the process's command line and runs it; returns the process exit code. With
/// `--json`, a command line clap refuses is also reported as one JSON document on stdout.
pub fn main_from_env() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let parsed = Cli::command()
        .try_get_matches_from(&args)
        .and_then(|matches| Ok((Cli::from_arg_matches(&matches)?, matches)));
    match parsed {
        Ok((cli, matches)) => run_command(cli, failure::wants_json(&matches)),
        Err(e) => {
            if e.use_stderr() && failure::raw_args_want_json(&args) {
                failure::print_document(&failure::usage_document(&e.render().to_string()));
            }
            e.exit()
        }
    }
}

/// Runs a parsed command line and returns the process exit code.
pub fn main(cli: Cli) -> ExitCode {
    run_command(cli, false)
}

/// Runs a parsed command line; `json` when it asked for JSON output (errors are then also
/// printed as one JSON document on stdout).
fn run_command(cli: Cli, json: bool) -> ExitCode {
    if let Commands::ScriptedAgent { args } = cli.command {
        // Its own program: no runtime, no tracing on its stderr (that is part of the act).
        let code = engine_scripted_agent::main(&args);
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    let drives_runs = matches!(
        cli.command,
        Commands::Run(_)
            | Commands::Watch(_)
            | Commands::Resume(_)
            | Commands::Retry(_)
            | Commands::Serve(_)
            | Commands::Mcp(_)
    ) || matches!(
        &cli.command,
        Commands::Plugin(plugin::PluginArgs {
            command: plugin::PluginCommand::Run(_)
        })
    );
    crate::cli::streams::guard(drives_runs);
    if drives_runs {
        // The sandbox trial runs while the workflow, tasks and state load.
        engine_confine::probe_in_background();
    }
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::INTERNAL);
        }
    };
    let given_state_dir = cli.state_dir.clone();
    let result = runtime
        .block_on(dispatch(cli))
        .map_err(|e| failure::blame_state_dir(e, given_state_dir.as_deref()));
    // Do not wait for stray blocking tasks (e.g. a stage being torn down) at exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    // Spans of the runs this process drove go out before it exits (a bounded wait).
    crate::traces::flush();
    // Worktrees removed by this process finish being deleted (else the next one sweeps them).
    engine_git::wait_for_removals();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            report_error(&e);
            if json {
                failure::print_document(&failure::error_document(&e));
            }
            ExitCode::from(e.exit_code())
        }
    }
}

async fn dispatch(cli: Cli) -> Result<u8, EngineError> {
    let state_dir = cli.state_dir.as_deref();
    if let Some(dir) = state_dir {
        check_state_dir(dir)?;
    }
    match cli.command {
        // Boxed: the futures that drive runs are tens of kilobytes; they live on the heap.
        Commands::Run(args) => Box::pin(run::execute(args, state_dir)).await,
        Commands::Watch(args) => Box::pin(watch::execute(args, state_dir)).await,
        Commands::Init(args) => init::execute(&args),
        Commands::Resume(args) => Box::pin(resume::execute(args, state_dir)).await,
        Commands::Validate(args) => validate::execute(args).await,
        Commands::Schema => Ok(schema::execute()),
        Commands::Runs(args) => runs::execute(&args, state_dir),
        Commands::Serve(args) => Box::pin(serve::execute(args, state_dir)).await,
        Commands::Show(args) => show::execute(&args, state_dir),
        Commands::Costs(args) => costs::execute(&args, state_dir),
        Commands::Logs(args) => logs::execute(&args, state_dir),
        Commands::Tasks(args) => tasks::execute(args).await,
        Commands::Cancel(args) => Box::pin(cancel::execute(args, state_dir)).await,
        Commands::Approve(args) => approve::approve(args, state_dir).await,
        Commands::Reject(args) => approve::reject(args, state_dir).await,
        Commands::Retry(args) => Box::pin(retry::execute(args, state_dir)).await,
        Commands::Pause(args) => pause::pause(args, state_dir).await,
        Commands::Unpause(args) => pause::unpause(args, state_dir).await,
        Commands::Gc(args) => gc::execute(&args, state_dir),
        Commands::HookReceiver(args) => hook_receiver::execute(&args),
        Commands::ScriptedAgent { .. } => Ok(exit::SUCCESS),
        Commands::Completions(args) => Ok(completions::completions(&args)),
        Commands::Man => completions::man(),
        Commands::Mcp(args) => Box::pin(mcp::execute(args, state_dir)).await,
        Commands::Plugin(args) => Box::pin(plugin::execute(args)).await,
        Commands::Reviews(args) => Box::pin(reviews::execute(args, state_dir)).await,
        Commands::Plan(args) => Box::pin(plan::execute(args, state_dir)).await,
        Commands::Spec(args) => Box::pin(spec::execute(args, state_dir)).await,
        Commands::Skills(args) => skills::execute(args),
        Commands::BugReport(args) => bug_report::execute(args, state_dir),
    }
}

/// `--state-dir` must be a directory, or not exist yet (it is created): a file or a device
/// such as `/dev/null` is a mistake in the command line.
fn check_state_dir(dir: &std::path::Path) -> Result<(), EngineError> {
    match std::fs::metadata(dir) {
        Ok(metadata) if !metadata.is_dir() => Err(EngineError::Usage(format!(
            "--state-dir {}: not a directory (give a directory, or a path that does not exist \
             yet)",
            crate::terminal::safe(&dir.display().to_string())
        ))),
        _ => Ok(()),
    }
}

fn report_error(e: &EngineError) {
    for line in error_report(e).split('\n') {
        eprintln!("{}", crate::terminal::for_stderr(line));
    }
}

/// What `engine` prints on stderr for an error that ends a command: diagnostics one per line
/// then a count, an `error:` line, and for an internal error the line saying it is a bug.
pub(crate) fn error_report(e: &EngineError) -> String {
    use crate::terminal::safe_lines;
    match e {
        // Diagnostics are already "file:line:col: field: message" lines.
        EngineError::InvalidWorkflow(diags) => {
            let n = diags.0.len();
            format!(
                "{}\nerror: the workflow is invalid ({n} problem{})",
                safe_lines(&diags.to_string()),
                if n == 1 { "" } else { "s" }
            )
        }
        EngineError::TaskSource(engine_tasks::SourceError::Malformed(diagnostics)) => {
            let mut text = String::new();
            for diagnostic in diagnostics {
                let _ = writeln!(text, "{}", safe_lines(&diagnostic.to_string()));
            }
            let n = diagnostics.len();
            let _ = write!(
                text,
                "error: the tasks cannot be read ({n} problem{})",
                if n == 1 { "" } else { "s" }
            );
            text
        }
        EngineError::Internal(_) => format!(
            "error: {}\n{}",
            safe_lines(&e.to_string()),
            crate::error::BUG_REPORT_LINE
        ),
        other => format!("error: {}", safe_lines(&other.to_string())),
    }
}

fn init_tracing() {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = log_filter(std::env::var("RUST_LOG").ok().as_deref());
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_target(false),
        )
        .with(filter)
        .try_init();
}

/// The log filter of a `RUST_LOG` value: comma-separated `LEVEL` and `TARGET=LEVEL` directives
/// (`debug`, `engine=debug,wasmtime=warn`); `warn` when it is unset, empty or not that syntax.
/// (`tracing-subscriber`'s `Targets`, not its `EnvFilter`: the latter's span and field filters
/// bring a regex DFA builder that made every regex of the process, the workflow schema's
/// patterns included, build a full DFA at each start.)
fn log_filter(rust_log: Option<&str>) -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    let warn = || Targets::new().with_default(LevelFilter::WARN);
    match rust_log.map(str::trim) {
        None | Some("") => warn(),
        Some(directives) => directives.parse::<Targets>().unwrap_or_else(|_| warn()),
    }
}

/// Prints a value as pretty JSON on stdout.
fn print_json(value: &impl serde::Serialize) -> Result<(), EngineError> {
    streams::print_line(&render_json(value)?);
    Ok(())
}

/// A value as pretty JSON.
fn render_json(value: &impl serde::Serialize) -> Result<String, EngineError> {
    serde_json::to_string_pretty(value)
        .map_err(|e| EngineError::Internal(format!("cannot render JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    #[test]
    fn rust_log_directives_set_the_levels_and_anything_else_means_warn() {
        let filter = super::log_filter(Some("engine=debug,wasmtime=error"));
        assert!(filter.would_enable("engine::driver", &Level::DEBUG));
        assert!(!filter.would_enable("engine::driver", &Level::TRACE));
        assert!(filter.would_enable("wasmtime", &Level::ERROR));
        assert!(!filter.would_enable("wasmtime", &Level::WARN));
        let filter = super::log_filter(Some("debug"));
        assert!(filter.would_enable("anything", &Level::DEBUG));
        for warn_only in [None, Some(""), Some("  "), Some("engine=[bad")] {
            let filter = super::log_filter(warn_only);
            assert!(filter.would_enable("engine", &Level::WARN), "{warn_only:?}");
            assert!(
                !filter.would_enable("engine", &Level::INFO),
                "{warn_only:?}"
            );
        }
    }

    use super::*;

    #[test]
    fn an_internal_error_exits_70_and_says_it_is_a_bug() {
        let e = EngineError::Internal("the driver task failed: boom".into());
        assert_eq!(e.exit_code(), exit::INTERNAL);
        assert_eq!(
            error_report(&e),
            format!(
                "error: the driver task failed: boom\n{}",
                crate::error::BUG_REPORT_LINE
            )
        );
        assert!(crate::error::BUG_REPORT_LINE.starts_with("this is a bug in engine"));
    }

    #[test]
    fn a_usage_error_exits_2_without_the_bug_line() {
        let e = EngineError::Usage("--base: no branch named nope".into());
        assert_eq!(e.exit_code(), exit::INVALID_INPUT);
        assert_eq!(error_report(&e), "error: --base: no branch named nope");
    }
}
