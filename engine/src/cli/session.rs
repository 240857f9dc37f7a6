//! `engine run --all` and `engine watch`: a session over the workflow's task source, carried
//! out by the process holding the state directory (this one, or the one the command was
//! submitted to; see [`crate::control`]).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::run_modes::{limits, needs_source};
use crate::EngineError;
use crate::control::{Finish, Holding, SessionSubmission};
use crate::output::Output;
use crate::project::PreparedWorkflow;
use crate::queue::{self, Lifecycle, LifecycleSetup, QueueOptions, TaskSource};
use crate::report::{FirstRunId, Human, Listening, Quiet, Reporter};
use crate::terminal::safe;

/// Works through the task source as `session` asks, in the process holding the state directory
/// (`holding`), printing on `output`. A `submitted` session stops when its terminal stops
/// listening (`departure`: Ctrl-C there) or when the holder stops (then it goes back to its
/// terminal, which submits it again: the interrupted runs are resumed first).
pub(super) async fn session_held(
    holding: &Holding,
    session: SessionSubmission,
    output: Arc<dyn Output>,
    submitted: bool,
    departure: watch::Receiver<bool>,
) -> Result<Finish, EngineError> {
    let loaded = engine_workflow::load_file(&session.workflow_file)?;
    super::run::check_base(&holding.repo, session.base.as_deref(), &loaded)?;
    if submitted {
        super::run::warn_of_environment(&loaded, &session.env, output.as_ref());
    }
    let prepared = PreparedWorkflow::prepare(&holding.host, loaded).await?;
    let source = TaskSource::of(&holding.host, &prepared, holding.repo.root().to_path_buf());
    let mode = if session.watch_ms.is_some() {
        "engine watch"
    } else {
        "--all"
    };
    let source = needs_source(source, &session.workflow, mode)?;
    if let Some(epic) = &session.epic {
        let listing = source.list().await?;
        queue::epic::check(&listing.tasks, epic, &source.describe())?;
    }
    let limits = limits(session.until.as_deref(), &prepared, holding.clock.now_ms())?;
    let watch = session.watch_ms.map(Duration::from_millis);
    if let Some(every) = watch
        && !session.json
    {
        output.err(&safe(&format!(
            "watching {} every {} (Ctrl-C stops)",
            source.describe(),
            humantime::format_duration(every)
        )));
    }
    // The base branch is found once for the session (every run starts from its tip).
    let mut base = session.base;
    if base.is_none() && prepared.loaded.git.base.is_none() {
        base = Some(holding.repo.default_base_branch()?);
    }
    let inner: Arc<dyn Reporter> = if session.json {
        Arc::new(Quiet)
    } else {
        Arc::new(Human::to_output(output.clone()))
    };
    // Whoever started the session (the dashboard, an MCP client) learns its first run.
    let reporter: Arc<dyn Reporter> = Arc::new(Listening {
        inner,
        listener: FirstRunId::new(output.clone(), false),
    });
    let lifecycle = Arc::new(Lifecycle::new(LifecycleSetup {
        repo: holding.repo.clone(),
        state_dir: holding.state_dir.clone(),
        host: holding.host.clone(),
        prepared: Arc::new(prepared),
        workflow_file: session.workflow_file,
        source: Some(source),
        base,
        labels: session.labels,
        retry_failed: !session.fresh,
        clock: holding.clock.clone(),
        reporter,
    }));
    let options = QueueOptions {
        parallel: usize::from(session.parallel.max(1)),
        watch,
        limits,
        human: !session.json,
        lanes: holding.lanes.clone(),
        slots: holding.slots.clone(),
        output: output.clone(),
        stop: submitted.then(|| either(holding.stopping.clone(), departure)),
        epic: session.epic,
    };
    let outcome = queue::run_queue(&lifecycle, &options).await;
    if submitted && *holding.stopping.borrow() {
        return Ok(Finish::HandBack(String::new()));
    }
    if session.json {
        output.out(&super::render_json(&outcome.to_json())?);
    } else {
        for line in outcome.lines() {
            output.err(&safe(&line));
        }
    }
    Ok(Finish::Exit(outcome.exit_code(watch.is_some())))
}

/// A receiver that turns `true` once either of `a` and `b` does.
fn either(mut a: watch::Receiver<bool>, mut b: watch::Receiver<bool>) -> watch::Receiver<bool> {
    let (sender, receiver) = watch::channel(*a.borrow() || *b.borrow());
    tokio::spawn(async move {
        // A dropped sender is not a request to stop: wait on the other one.
        let a_stop = async {
            if a.wait_for(|stop| *stop).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        let b_stop = async {
            if b.wait_for(|stop| *stop).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = a_stop => {},
            () = b_stop => {},
            () = sender.closed() => return,
        }
        let _ = sender.send(true);
    });
    receiver
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn either_stops_when_one_of_two_does() {
        let (a_send, a) = watch::channel(false);
        let (b_send, b) = watch::channel(false);
        let mut both = either(a, b);
        assert!(!*both.borrow());
        drop(a_send);
        b_send.send(true).unwrap();
        both.wait_for(|stop| *stop).await.unwrap();
    }
}
