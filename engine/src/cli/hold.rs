//! `engine run`, `resume` and `retry` in a repository whose state directory another engine
//! process may hold: reach that process and submit the command to it, or hold the state
//! directory here, serve the control socket for the others, and carry the command out (see
//! [`crate::control`]).

use std::sync::Arc;

use crate::control::client::{Reached, Submitted, reach, submit};
use crate::control::{Envelope, Executor, Finish, Holder, Holding, Request, protocol};
use crate::output::{Output, ProcessStreams};
use crate::project::{Project, host};
use crate::terminal::safe;
use crate::time::{Clock, SystemClock};
use crate::{EngineError, exit};

/// How many times a terminal takes its run over from holders that stopped before giving up.
const TAKEOVERS: u32 = 5;

/// How many times a terminal tries again when a holder took no command (it was exiting)
/// before giving up: 200 tries 50 ms apart, about 10 s.
const UNANSWERED: u32 = 200;

/// Carries `request` out for this terminal: through the holder of the project's state
/// directory when there is one, else here (as `holder`, for the lock's note). A run handed
/// back by a holder that stopped, or left by one that died, is taken over: resumed here or by
/// whichever process holds the state directory next.
pub(super) async fn execute(
    project: &Project,
    mut request: Request,
    holder: &str,
) -> Result<u8, EngineError> {
    let output: Arc<dyn Output> = Arc::new(ProcessStreams);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let json = request.json();
    let (mut takeovers, mut unanswered) = (0, 0);
    loop {
        let stream = match reach(&project.state_dir, holder, clock.as_ref()).await? {
            Reached::Held(state_dir) => {
                let (holding, stop) =
                    Holding::new(project.repo.clone(), state_dir, host()?, clock.clone());
                let serving = Holder::start(holding.clone(), stop, executor(), output.as_ref());
                let done = Box::pin(perform(request, holding, output.clone(), false)).await;
                serving.finish(output.as_ref()).await;
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
        let taken_over = match submit(stream, &envelope, output.as_ref()).await? {
            Submitted::Exit(code) => return Ok(code),
            Submitted::Closing
            | Submitted::Lost {
                run_id: None,
                pid: None,
            } if unanswered < UNANSWERED => {
                // Nobody took the command (a holder about to exit, or one that had the socket
                // open a moment longer while dying): nothing of it ran; try again.
                unanswered += 1;
                clock.sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
            Submitted::Closing
            | Submitted::Lost {
                run_id: None,
                pid: None,
            } => {
                let (pid, holder) =
                    engine_store::lock_holder(&project.state_dir).unwrap_or_default();
                return Err(EngineError::Busy(engine_store::StoreError::Busy {
                    pid,
                    holder,
                    dir: project.state_dir.clone(),
                }));
            }
            Submitted::Refused(why) => return Err(EngineError::Usage(why)),
            Submitted::Detached { run_id, pid } => {
                if !json {
                    output.err(&detached_note(run_id.as_deref(), pid));
                }
                return Ok(exit::RUN_INTERRUPTED);
            }
            Submitted::HandBack { run_id, pid } => (run_id, Some(pid)),
            Submitted::Lost {
                run_id: Some(run_id),
                pid,
            } => (run_id, pid),
            Submitted::Lost {
                run_id: None,
                pid: Some(pid),
            } => {
                return Err(EngineError::Usage(format!(
                    "engine process {pid} took the command and stopped before it recorded a \
                     run; `engine runs` lists what it did"
                )));
            }
        };
        takeovers += 1;
        let (run_id, pid) = taken_over;
        if takeovers > TAKEOVERS {
            output.err(&format!(
                "run {} was stopped {TAKEOVERS} times by the processes driving it; continue it \
                 with `engine resume {}`",
                safe(&run_id),
                safe(&run_id)
            ));
            return Ok(exit::RUN_INTERRUPTED);
        }
        if !json {
            output.err(&format!(
                "note: engine process{} stopped driving run {}; it goes on from its last stored \
                 transition",
                pid.map(|pid| format!(" {pid}")).unwrap_or_default(),
                safe(&run_id)
            ));
        }
        request = Request::Resume { run: run_id, json };
    }
}

/// What a terminal that detached says.
fn detached_note(run_id: Option<&str>, pid: Option<u32>) -> String {
    let process = pid.map(|pid| format!(" {pid}")).unwrap_or_default();
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
    Arc::new(|request, output, holding| {
        Box::pin(async move {
            let json = request.json();
            match Box::pin(perform(request, holding, output, true)).await {
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
/// `submitted` when another terminal asked for it.
async fn perform(
    request: Request,
    holding: Holding,
    output: Arc<dyn Output>,
    submitted: bool,
) -> Result<Finish, EngineError> {
    match request {
        Request::Run(submission) => {
            Box::pin(super::run::run_one(&holding, submission, output, submitted)).await
        }
        Request::Resume { run, json } => {
            Box::pin(super::resume::resume_held(
                &holding, &run, json, output, submitted,
            ))
            .await
        }
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
            detached_note(Some("01RUN"), Some(42)),
            "detached: run 01RUN goes on in engine process 42; follow it with `engine logs -f \
             01RUN`, stop it with `engine cancel 01RUN`"
        );
        assert_eq!(
            detached_note(None, None),
            "detached: the command goes on in the engine process holding the state directory"
        );
    }
}
