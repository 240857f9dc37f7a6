//! Commands from a dashboard or an MCP client (`engine serve`'s API, `engine mcp`'s tools):
//! the CLI's own commands (run, run --all, cancel, approve, reject, pause, unpause, retry),
//! carried out the way a terminal's are — through the process holding the state directory —
//! with their output collected instead of printed. One mechanism: the same
//! [`crate::control::Request`]s, the same executor, the same permissions and limits.

use std::sync::Arc;

use tokio::task::JoinHandle;

use crate::control::{Finish, Holder, Request};
use crate::output::{Collected, Output};
use crate::project::Project;
use crate::{EngineError, exit};

/// Where commands are carried out.
pub enum Console {
    /// In this process, which holds the state directory and serves its control socket
    /// (`engine serve`).
    Holder(Arc<Holder>),
    /// As a terminal's: submitted to the process holding the state directory, or carried out
    /// here holding it for the command's length (`engine mcp`).
    Terminal(Arc<Project>),
}

/// When [`Console::perform`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Once the command recorded its run (it goes on), or ended without one.
    ForRun,
    /// Once the command ended.
    ForEnd,
}

/// What a command did, as far as it got when [`Console::perform`] answered.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Performed {
    /// The run it recorded or acted on, when known.
    pub run_id: Option<String>,
    /// What the CLI would have printed (stdout and stderr lines, in order).
    pub output: Vec<String>,
    /// Its exit code, when it ended.
    pub exit: Option<u8>,
    /// Its error, when it ended with one: the message and the exit code.
    pub error: Option<(String, u8)>,
}

impl Console {
    /// Carries `request` out; answers as `wait` says (a run goes on after [`Wait::ForRun`]).
    pub async fn perform(&self, request: Request, wait: Wait) -> Result<Performed, EngineError> {
        let collected = Arc::new(Collected::new());
        let output: Arc<dyn Output> = collected.clone();
        let mut handle: JoinHandle<Finish> = match self {
            Console::Holder(holder) => holder.submit(request, output).ok_or_else(|| {
                EngineError::Usage("the server is stopping: it takes no new command".to_string())
            })?,
            Console::Terminal(project) => {
                let project = project.clone();
                tokio::spawn(async move {
                    match Box::pin(super::hold::execute_to(
                        &project,
                        request,
                        "engine mcp",
                        output,
                    ))
                    .await
                    {
                        Ok(code) => Finish::Exit(code),
                        Err(e) => Finish::Failed {
                            report: super::error_report(&e),
                            code: e.exit_code(),
                            document: None,
                        },
                    }
                })
            }
        };
        let mut run = collected.run();
        let finish = match wait {
            Wait::ForEnd => Some(joined(&mut handle).await),
            Wait::ForRun => {
                let known = tokio::select! {
                    finish = joined(&mut handle) => Err(finish),
                    known = run.wait_for(Option::is_some) => Ok(known.is_ok()),
                };
                match known {
                    Err(finish) => Some(finish),
                    Ok(true) => None,
                    // The command went away without saying: wait for its end instead.
                    Ok(false) => Some(joined(&mut handle).await),
                }
            }
        };
        let run_id = collected.run().borrow().clone();
        let (exit, error) = match finish {
            None => (None, None),
            Some(Finish::Exit(code)) => (Some(code), None),
            Some(Finish::HandBack(_)) => (Some(exit::RUN_INTERRUPTED), None),
            Some(Finish::Failed { report, code, .. }) => (Some(code), Some((report, code))),
        };
        Ok(Performed {
            run_id,
            output: collected.lines(),
            exit,
            error,
        })
    }
}

/// The command's end; a task that panicked or was aborted ends as an internal error.
async fn joined(handle: &mut JoinHandle<Finish>) -> Finish {
    match handle.await {
        Ok(finish) => finish,
        Err(e) => Finish::Failed {
            report: format!("error: the command's task failed: {e}"),
            code: exit::INTERNAL,
            document: None,
        },
    }
}

/// The requests of the console's commands, built as the CLI builds them (the dashboard's and
/// MCP's controls are the CLI's commands).
pub mod requests {
    use std::path::Path;

    use engine_store::ApprovalAnswer;

    use crate::EngineError;
    use crate::control::{ControlCommand, Request, SessionSubmission, Submission};

    /// `engine run WORKFLOW --task TASK [--base B] [--label L]...` (`task`: an id of the
    /// workflow's task source or the task as text).
    pub fn run(
        workflow_file: &Path,
        task: &str,
        base: Option<String>,
        labels: Vec<String>,
    ) -> Result<Request, EngineError> {
        if task.trim().is_empty() {
            return Err(EngineError::Usage(
                "a run needs a task: a task id of the workflow's source, or the task as text"
                    .into(),
            ));
        }
        let submission = Submission {
            workflow_file: workflow_file.to_path_buf(),
            task: Some(task.to_string()),
            task_text: None,
            labels,
            base,
            json: false,
            until: None,
            fresh: false,
            env: crate::secrets::environment_digests(),
        };
        super::super::run::task_from(&submission)?;
        Ok(Request::Run(submission))
    }

    /// `engine run WORKFLOW --all [--parallel N]`.
    pub fn run_all(workflow_file: &Path, parallel: u16) -> Result<Request, EngineError> {
        if !(1..=64).contains(&parallel) {
            return Err(EngineError::Usage(format!(
                "parallel {parallel}: expected 1 to 64"
            )));
        }
        Ok(Request::Session(SessionSubmission {
            workflow: workflow_file.to_path_buf(),
            workflow_file: workflow_file.to_path_buf(),
            watch_ms: None,
            parallel,
            until: None,
            base: None,
            labels: Vec::new(),
            json: false,
            fresh: false,
            env: crate::secrets::environment_digests(),
            epic: None,
        }))
    }

    /// `engine watch WORKFLOW --interval EVERY --parallel N`.
    pub fn watch(
        workflow_file: &Path,
        every_ms: u64,
        parallel: u16,
    ) -> Result<Request, EngineError> {
        let mut request = run_all(workflow_file, parallel)?;
        if let Request::Session(session) = &mut request {
            session.watch_ms = Some(every_ms);
        }
        Ok(request)
    }

    /// `engine cancel RUN [--reason R]`.
    pub fn cancel(run: &str, reason: Option<String>) -> Request {
        Request::Control(ControlCommand::Cancel {
            run: run.to_string(),
            reason: reason
                .filter(|r| !r.trim().is_empty())
                .unwrap_or_else(|| "cancelled by user".into()),
        })
    }

    /// `engine approve RUN` / `engine reject RUN --reason R` (a rejection needs a reason: it
    /// is the feedback the run goes back with), answered by `by`.
    pub fn answer(
        run: &str,
        approved: bool,
        reason: Option<String>,
        by: &str,
    ) -> Result<Request, EngineError> {
        let reason = reason.unwrap_or_default();
        if !approved && reason.trim().is_empty() {
            return Err(EngineError::Usage(
                "a rejection needs a reason: it is the feedback the run goes back with".into(),
            ));
        }
        Ok(Request::Control(ControlCommand::Answer {
            run: run.to_string(),
            answer: ApprovalAnswer {
                stage: None,
                approved,
                by: by.to_string(),
                reason,
            },
        }))
    }

    /// `engine pause RUN` / `engine unpause RUN`.
    pub fn pause(run: &str, paused: bool) -> Request {
        Request::Control(ControlCommand::Pause {
            run: run.to_string(),
            paused,
        })
    }

    /// `engine resume RUN`.
    pub fn resume(run: &str) -> Request {
        Request::Resume {
            run: run.to_string(),
            json: false,
        }
    }

    /// `engine retry RUN [--from STAGE]`.
    pub fn retry(run: &str, from: Option<String>) -> Request {
        Request::Retry {
            run: run.to_string(),
            from: from.filter(|f| !f.trim().is_empty()),
            json: false,
        }
    }
}
