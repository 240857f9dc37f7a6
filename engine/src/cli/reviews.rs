//! `engine reviews [WORKFLOW]`: answer the review feedback on the pull requests engine opened
//! (see [`crate::reviews`] and docs/pr-reviews.md). Parses arguments, holds the state
//! directory, prints.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;

use super::drive::progress;
use crate::EngineError;
use crate::control::Holding;
use crate::control::client::{Reached, reach};
use crate::output::{Output, ProcessStreams};
use crate::project::{PreparedWorkflow, Project, host};
use crate::reviews::{Options, Reviews, ReviewsError, check_fix_workflow, gh::Gh, push};
use crate::terminal::safe;
use crate::time::{Clock, SystemClock};

/// Arguments of `engine reviews`.
#[derive(Debug, Args)]
pub struct ReviewsArgs {
    /// The fix pipeline: a workflow without a merge stage (default: `workflows/engine.yaml`).
    pub workflow: Option<PathBuf>,
    /// Only list the pull requests and their unanswered review feedback; run nothing.
    #[arg(long)]
    pub list: bool,
    /// Only pull request N (answered even if engine did not open it).
    #[arg(long, value_name = "N")]
    pub pr: Option<u64>,
    /// Also answer pull requests engine did not open.
    #[arg(long)]
    pub include_foreign: bool,
    /// Also fix feedback from people without write access to the repository (by default only
    /// comments by owners, members and collaborators are taken).
    #[arg(long)]
    pub any_author: bool,
    /// The git remote the pull requests' branches are fetched from and pushed to.
    #[arg(long, default_value = "origin", value_name = "NAME")]
    pub remote: String,
    /// Print only a JSON document on stdout: one object per pull request.
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn execute(
    args: ReviewsArgs,
    state_dir: Option<&Path>,
) -> Result<u8, EngineError> {
    push::check_remote(&args.remote).map_err(EngineError::Usage)?;
    let workflow = super::workflow_path::resolve(args.workflow.as_deref())?;
    let workflow_file =
        std::path::absolute(&workflow).map_err(|e| EngineError::io(&workflow, e))?;
    let loaded = engine_workflow::load_file(&workflow_file)?;
    check_fix_workflow(&loaded)?;
    let project = Project::locate(state_dir)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let holder = format!("engine reviews (pid {})", std::process::id());
    let held = match reach(&project.state_dir, &holder, clock.as_ref()).await? {
        Reached::Held(held) => held,
        // Another engine process (`serve`, `run`, `watch`) holds it: answer when it is done.
        Reached::Holder(_) => {
            let (pid, holder) = engine_store::lock_holder(&project.state_dir).unwrap_or_default();
            return Err(EngineError::Busy(engine_store::StoreError::Busy {
                pid,
                holder,
                dir: project.state_dir.clone(),
            }));
        }
    };
    let host = host()?;
    let (holding, _stop) = Holding::new(project.repo.clone(), held, host.clone(), clock);
    let prepared = PreparedWorkflow::prepare(&host, loaded).await?;
    let output: Arc<dyn Output> = Arc::new(ProcessStreams);
    let reviews = Reviews {
        holding: &holding,
        prepared: Arc::new(prepared),
        workflow_file,
        reporter: progress(&output, args.json),
        gh: Gh::new(project.repo.root()),
    };
    let options = Options {
        list: args.list,
        pr: args.pr,
        include_foreign: args.include_foreign,
        any_author: args.any_author,
        remote: args.remote.clone(),
    };
    let outcomes = match Box::pin(reviews.run(&options)).await {
        Ok(outcomes) => outcomes,
        Err(ReviewsError::Engine(e)) => return Err(e),
        Err(e) => {
            output.err(&format!("error: {}", safe(&e.to_string())));
            if args.json {
                // One document on stdout for errors too, shaped as every command's.
                let document = serde_json::json!({ "error": {
                    "message": e.to_string(),
                    "exit_code": e.exit_code(),
                    "kind": "reviews",
                }});
                output.out(&super::render_json(&document)?);
            }
            return Ok(e.exit_code());
        }
    };
    if args.json {
        output.out(&super::render_json(&outcomes)?);
    } else if outcomes.is_empty() {
        output.err("no open pull request");
    } else {
        for outcome in &outcomes {
            output.err(&format!(
                "PR #{} ({}): {}",
                outcome.pr,
                safe(&outcome.branch),
                safe(&outcome.verdict.describe())
            ));
        }
    }
    Ok(crate::reviews::exit_code(&outcomes))
}
