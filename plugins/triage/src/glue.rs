//! The real host: the SDK's agent, log and progress calls, and the worktree mounted at
//! `/workspace`. Thin on purpose: everything worth testing is in the modules it serves.

use std::path::{Component, Path, PathBuf};

use engine_stage_sdk::agent::{AgentError, Event, Session, SessionRequest, Summary};

use crate::host::{LogLevel, TriageHost, TriageSession};

/// The host as the component sees it.
#[derive(Debug, Default)]
pub struct SdkHost {
    /// Where the worktree is mounted, when it is.
    pub workspace: Option<PathBuf>,
}

impl TriageHost for SdkHost {
    type Session = SdkSession;

    fn start(&mut self, request: &SessionRequest) -> Result<SdkSession, AgentError> {
        request.start().map(SdkSession)
    }

    fn workspace_mounted(&self) -> bool {
        self.workspace.is_some()
    }

    fn exists(&self, relative: &str) -> bool {
        let Some(root) = &self.workspace else {
            return false;
        };
        let path = Path::new(relative);
        let plain = path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        plain && root.join(path).exists()
    }

    fn log(&mut self, level: LogLevel, message: &str) {
        match level {
            LogLevel::Info => engine_stage_sdk::log::info(message),
            LogLevel::Warn => engine_stage_sdk::log::warn(message),
        }
    }

    fn progress(&mut self, message: &str) {
        engine_stage_sdk::progress(message, None);
    }
}

/// A session started through the SDK.
#[derive(Debug)]
pub struct SdkSession(Session);

impl TriageSession for SdkSession {
    fn next_event(&mut self) -> Option<Event> {
        self.0.next_event()
    }

    fn finish(self) -> Summary {
        self.0.finish()
    }
}
