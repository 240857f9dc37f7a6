//! `engine serve [WORKFLOW]`: hold the repository's state directory and serve the dashboard,
//! the JSON API with live events, metrics and MCP (see [`crate::serve`] and
//! docs/http-api.md) until SIGINT/SIGTERM.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::board::{Access, Board};
use crate::cli::console::{Console, requests};
use crate::control::client::{Reached, reach};
use crate::control::{Holder, Holding};
use crate::output::{Output, ProcessStreams};
use crate::project::{Project, host};
use crate::serve::security::Guard;
use crate::serve::{App, parse_listen, router, serve_until};
use crate::time::{Clock, SystemClock};
use crate::{EngineError, exit};

/// The address `engine serve` listens on without `--listen`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";

/// How long open connections get to end once the server stops.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// Arguments of `engine serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The workflow whose task source the board shows and whose runs the controls start
    /// (default: `workflows/engine.yaml` of the repository).
    pub workflow: Option<PathBuf>,
    /// The address to listen on: ADDRESS:PORT or PORT (port 0 picks a free one). An address
    /// other than loopback needs a token.
    #[arg(long, value_name = "ADDR:PORT", default_value = DEFAULT_LISTEN)]
    pub listen: String,
    /// Also run the ready tasks of the task source as they become ready (as `engine watch`).
    #[arg(long)]
    pub watch: bool,
    /// With --watch: how often to look at the task source.
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub interval: String,
    /// With --watch: up to N runs at once.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
    /// A file holding the bearer token every API request must carry (else
    /// `ENGINE_SERVE_TOKEN`). Required when listening on a non-loopback address.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

pub(super) async fn execute(args: ServeArgs, state_dir: Option<&Path>) -> Result<u8, EngineError> {
    let workflow = super::workflow_path::resolve(args.workflow.as_deref())?;
    let workflow_file =
        std::path::absolute(&workflow).map_err(|e| EngineError::io(&workflow, e))?;
    // A workflow that does not load is refused now, not at the first click.
    engine_workflow::load_file(&workflow_file)?;
    let every = super::run_modes::interval(&args.interval)?;
    let addr = parse_listen(&args.listen).map_err(EngineError::Usage)?;
    let guard = Guard::new(addr, token(args.token_file.as_deref())?)
        .map_err(|e| EngineError::Usage(e.to_string()))?;
    let project = Project::locate(state_dir)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| EngineError::Usage(format!("cannot listen on {addr}: {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| EngineError::Internal(format!("the listening address: {e}")))?;
    let output: Arc<dyn Output> = Arc::new(ProcessStreams);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let holder_note = format!(
        "engine serve {} (pid {})",
        workflow.display(),
        std::process::id()
    );
    let state_dir = hold(&project, &holder_note, clock.as_ref(), output.as_ref()).await?;
    let host = host()?;
    let (holding, stop) = Holding::new(project.repo.clone(), state_dir, host.clone(), clock);
    let stopping = holding.stopping.clone();
    let board = Board {
        access: Access::Held(holding.state_dir.clone()),
        workflow_file: workflow_file.clone(),
        repo_root: project.repo.root().to_path_buf(),
    };
    let holder = Arc::new(Holder::start(
        holding,
        stop,
        super::hold::executor(),
        output.as_ref(),
    ));
    let guard = Arc::new(Guard {
        addr: bound,
        ..guard
    });
    let app = Arc::new(App {
        board,
        console: Arc::new(Console::Holder(holder.clone())),
        host,
        workflow_file: workflow_file.clone(),
        watching: args.watch,
        stopping: stopping.clone(),
        guard,
        models: crate::serve::Models::default(),
    });
    output.err(&format!(
        "engine serve: listening on http://{bound} (state directory {}; Ctrl-C stops)",
        app.board.state_dir().display()
    ));
    if args.watch {
        let every_ms = u64::try_from(every.as_millis()).unwrap_or(u64::MAX);
        let request = requests::watch(&workflow_file, every_ms, args.parallel)?;
        if holder.submit(request, output.clone()).is_none() {
            return Err(EngineError::Internal(
                "the watch session could not start".into(),
            ));
        }
    }
    // The MCP tools over streamable HTTP, behind the same checks as the API.
    let mcp = crate::mcp::http_service_for(
        crate::mcp::EngineMcp::new(app.board.clone(), app.console.clone(), app.host.clone())
            .watching(args.watch),
    );
    // Open MCP streams end when the server stops (else they would hold its shutdown).
    let mcp_sessions = mcp.config.cancellation_token.clone();
    let mut stops = stopping.clone();
    tokio::spawn(async move {
        let _ = stops.wait_for(|stop| *stop).await;
        mcp_sessions.cancel();
    });
    let extra = axum::Router::new().nest_service("/mcp", mcp);
    let served = serve_until(listener, router(app, extra), stopping.clone());
    let result = tokio::select! {
        result = served => result,
        () = async {
            let mut stopping = stopping.clone();
            let _ = stopping.wait_for(|stop| *stop).await;
            tokio::time::sleep(CLOSE_WAIT).await;
        } => Ok(()),
    };
    output.err("engine serve: stopping; runs stop at their last stored transition");
    holder.drain(output.as_ref()).await;
    result.map_err(|e| EngineError::Internal(format!("the HTTP server failed: {e}")))?;
    Ok(exit::SUCCESS)
}

/// The token: `--token-file`'s first line, else `ENGINE_SERVE_TOKEN`.
fn token(file: Option<&Path>) -> Result<Option<String>, EngineError> {
    if let Some(file) = file {
        let text = engine_workflow::read_text_file(file, 4096, "the token file")
            .map_err(|why| EngineError::Usage(format!("--token-file {}: {why}", file.display())))?;
        let token = text.lines().next().unwrap_or_default().trim().to_string();
        if token.is_empty() {
            return Err(EngineError::Usage(format!(
                "--token-file {}: the file is empty",
                file.display()
            )));
        }
        return Ok(Some(token));
    }
    Ok(std::env::var("ENGINE_SERVE_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty()))
}

/// Takes the state directory, waiting while another engine process holds it (that process's
/// runs end, or it is stopped, first).
async fn hold(
    project: &Project,
    holder: &str,
    clock: &dyn Clock,
    output: &dyn Output,
) -> Result<engine_store::StateDir, EngineError> {
    let mut said = false;
    loop {
        match reach(&project.state_dir, holder, clock).await {
            Ok(Reached::Held(state_dir)) => return Ok(state_dir),
            Ok(Reached::Holder(_)) | Err(EngineError::Busy(_)) => {
                if !said {
                    said = true;
                    let (pid, who) =
                        engine_store::lock_holder(&project.state_dir).unwrap_or_default();
                    output.err(&format!(
                        "engine serve: waiting for engine process {pid} ({who}) to release the \
                         state directory {}",
                        project.state_dir.display()
                    ));
                }
                clock.sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e),
        }
    }
}
