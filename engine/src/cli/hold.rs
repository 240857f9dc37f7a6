//! `engine run` (one task, `--all`), `watch`, `resume` and `retry` in a repository whose state
//! directory another engine process may hold: reach that process and submit the command to it,
//! or hold the state directory here, serve the control socket for the others, and carry the
//! command out (see [`crate::control`]).

use std::sync::Arc;

use tokio::sync::watch;

use crate::control::client::{OnInterrupt, Reached, Submitted, reach, submit};
use crate::control::{Envelope, Executor, Finish, Holder, Holding, Request, protocol};
use crate::output::{Output, ProcessStreams};
use crate::project::{Project, host};
use crate::terminal::safe;
use crate::time::{Clock, SystemClock};
use crate::{EngineError, exit};

/// How many times a terminal takes its run over from holders that stopped before giving up.
const TAKEOVERS: u32 = 5;

/// How many times a terminal tries again when a holder took no command (it was exiting)
/// before giving up (exit 5): 200 tries 50 ms apart, about 10 s.
const UNANSWERED: u32 = 200;

/// Finds the repository and its state directory (`--state-dir`), then carries `request` out as
/// [`execute`] does.
pub(super) async fn locate_and_execute(
    state_dir: Option<&std::path::Path>,
    request: Request,
    holder: &str,
) -> Result<u8, EngineError> {
    let project = Project::locate(state_dir)?;
    Box::pin(execute(&project, request, holder)).await
}

/// Carries `request` out for this terminal (see [`execute_to`]), printing on this process's
/// stdout and stderr.
pub(super) async fn execute(
    project: &Project,
    request: Request,
    holder: &str,
) -> Result<u8, EngineError> {
    Box::pin(execute_to(
        project,
        request,
        holder,
        Arc::new(ProcessStreams),
    ))
    .await
}

/// Carries `request` out for a terminal, printing on `output`: through the holder of the project's state
/// directory when there is one, else here (as `holder`, for the lock's note). A run handed
/// back by a holder that stopped, or left by one that died, is taken over: resumed here or by
/// whichever process holds the state directory next.
pub(crate) async fn execute_to(
    project: &Project,
    mut request: Request,
    holder: &str,
    output: Arc<dyn Output>,
) -> Result<u8, EngineError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let json = request.json();
    let (mut takeovers, mut unanswered) = (0, 0);
    loop {
        let stream = match reach(&project.state_dir, holder, clock.as_ref()).await? {
            Reached::Held(state_dir) => {
                let (holding, stop) =
                    Holding::new(project.repo.clone(), state_dir, host()?, clock.clone());
                // A quick request (`engine approve`...) does not become the host of other
                // terminals' runs for hours: they wait the moment it holds the state directory.
                let serving = (!matches!(request, Request::Control(_)))
                    .then(|| Holder::start(holding.clone(), stop, executor(), output.as_ref()));
                let done = Box::pin(perform(request, holding, output.clone(), None)).await;
                if let Some(serving) = serving {
                    serving.finish(output.as_ref()).await;
                }
                return match done? {
                    Finish::Exit(code) | Finish::Failed { code, .. } => Ok(code),
                    // Only submitted runs are handed back.
                    Finish::HandBack(_) => Ok(exit::RUN_INTERRUPTED),
                };
            }
            Reached::Holder(stream) => stream,
        };
        let envelope = Envelope {
            version: protocol::VERSION,
            colour: output.err_colour(),
            request: request.clone(),
        };
        let session = matches!(request, Request::Session(_));
        let on_interrupt = if session {
            OnInterrupt::Stop
        } else {
            OnInterrupt::Detach
        };
        let submitted = submit(stream, &envelope, output.as_ref(), on_interrupt).await?;
        let (run_id, pid) = match submitted {
            Submitted::Exit(code) => return Ok(code),
            Submitted::Closing
            | Submitted::Lost {
                run_id: None,
                pid: None,
            } => {
                // Nobody took the command (a holder about to exit, or one that had the socket
                // open a moment longer while dying): nothing of it ran; try again.
                unanswered += 1;
                if unanswered > UNANSWERED {
                    return Err(busy(&project.state_dir));
                }
                clock.sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
            Submitted::Refused(why) => return Err(EngineError::Usage(why)),
            Submitted::Detached { run_id, pid } => {
                if !json {
                    output.err(&detached_note(session, run_id.as_deref(), pid));
                }
                return Ok(exit::RUN_INTERRUPTED);
            }
            Submitted::HandBack { run_id, pid } => (Some(run_id), Some(pid)),
            Submitted::Lost { run_id, pid } => (run_id, pid),
        };
        // The holder stopped or died while it carried the command out: take it over.
        takeovers += 1;
        let process = pid.map(|pid| format!(" {pid}")).unwrap_or_default();
        request = match (session, run_id) {
            // A session submitted again resumes its interrupted runs first.
            (true, _) => {
                if takeovers > TAKEOVERS {
                    output.err(&format!(
                        "the session was stopped {TAKEOVERS} times by the processes running \
                         it; run the command again to go on"
                    ));
                    return Ok(exit::RUN_INTERRUPTED);
                }
                if !json {
                    output.err(&format!(
                        "note: engine process{process} stopped running the session; it goes on \
                         here (interrupted runs first)"
                    ));
                }
                request
            }
            (false, Some(run_id)) => {
                if takeovers > TAKEOVERS {
                    output.err(&format!(
                        "run {run} was stopped {TAKEOVERS} times by the processes driving it; \
                         continue it with `engine resume {run}`",
                        run = safe(&run_id)
                    ));
                    return Ok(exit::RUN_INTERRUPTED);
                }
                if !json {
                    output.err(&format!(
                        "note: engine process{process} stopped driving run {}; it goes on from \
                         its last stored transition",
                        safe(&run_id)
                    ));
                }
                Request::Resume { run: run_id, json }
            }
            (false, None) => {
                return Err(EngineError::Usage(format!(
                    "engine process{process} took the command and stopped before it recorded a \
                     run; `engine runs` lists what it did"
                )));
            }
        };
    }
}

/// The error of a terminal whose command no process holding the state directory takes.
fn busy(state_dir: &std::path::Path) -> EngineError {
    let (pid, holder) = engine_store::lock_holder(state_dir).unwrap_or_default();
    EngineError::Busy(engine_store::StoreError::Busy {
        pid,
        holder,
        dir: state_dir.to_path_buf(),
    })
}

/// What a terminal that detached says.
fn detached_note(session: bool, run_id: Option<&str>, pid: Option<u32>) -> String {
    let process = pid.map(|pid| format!(" {pid}")).unwrap_or_default();
    if session {
        return format!(
            "detached: the session is stopping in engine process{process}; `engine runs` shows \
             its runs"
        );
    }
    match run_id {
        Some(run) => {
            let run = safe(run);
            format!(
                "detached: run {run} goes on in engine process{process}; follow it with `engine \
                 logs -f {run}`, stop it with `engine cancel {run}`"
            )
        }
        None => "detached: the command goes on in the engine process holding the state \
                 directory"
            .to_string(),
    }
}

/// The commands this process carries out for other terminals while it holds the state
/// directory.
pub(super) fn executor() -> Executor {
    Arc::new(|request, output, holding, departure| {
        Box::pin(async move {
            let json = request.json();
            match Box::pin(perform(request, holding, output, Some(departure))).await {
                Ok(finish) => finish,
                Err(e) => Finish::Failed {
                    report: super::error_report(&e),
                    code: e.exit_code(),
                    document: json.then(|| super::failure::error_document(&e)),
                },
            }
        })
    })
}

/// Carries `request` out in the process holding the state directory, printing on `output`;
/// `departure` when another terminal asked for it (it turns `true` when that terminal stops
/// listening).
async fn perform(
    request: Request,
    holding: Holding,
    output: Arc<dyn Output>,
    departure: Option<watch::Receiver<bool>>,
) -> Result<Finish, EngineError> {
    let submitted = departure.is_some();
    match request {
        Request::Session(session) => {
            let departure = departure.unwrap_or_else(|| watch::channel(false).1);
            Box::pin(super::session::session_held(
                &holding, session, output, submitted, departure,
            ))
            .await
        }
        Request::Run(submission) => {
            Box::pin(super::run::run_one(&holding, submission, output, submitted)).await
        }
        Request::Resume { run, json } => {
            Box::pin(super::resume::resume_held(
                &holding, &run, json, output, submitted,
            ))
            .await
        }
        Request::Control(command) => {
            Box::pin(super::run_control::control_held(&holding, command, &output)).await
        }
        // The holder answers it itself; never carried out as a command.
        Request::Driving => Ok(Finish::Exit(exit::SUCCESS)),
        Request::Retry { run, from, json } => {
            let from = from.as_deref();
            Box::pin(super::retry::retry_held(
                &holding, &run, from, json, output, submitted,
            ))
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_detached_terminal_says_where_its_run_goes_on() {
        assert_eq!(
            detached_note(false, Some("01RUN"), Some(42)),
            "detached: run 01RUN goes on in engine process 42; follow it with `engine logs -f \
             01RUN`, stop it with `engine cancel 01RUN`"
        );
        assert_eq!(
            detached_note(false, None, None),
            "detached: the command goes on in the engine process holding the state directory"
        );
    }
}
