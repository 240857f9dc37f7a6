//! The real host: the SDK's agent, log and progress calls (WIT imports). Thin on purpose:
//! everything worth testing is in the modules it serves.

use engine_stage_sdk::agent::{AgentError, Event, Session, SessionRequest, Summary};

use crate::host::{AgentHost, AgentSession, LogLevel};

/// The host as the component sees it.
#[derive(Debug, Default)]
pub struct SdkHost;

impl AgentHost for SdkHost {
    type Session = SdkSession;

    fn start(&mut self, request: &SessionRequest) -> Result<SdkSession, AgentError> {
        request.start().map(SdkSession)
    }

    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    fn log(&mut self, level: LogLevel, message: &str) {
        use engine_stage_sdk::log;
        match level {
            LogLevel::Debug => log::debug(message),
            LogLevel::Info => log::info(message),
            LogLevel::Warn => log::warn(message),
            LogLevel::Error => log::error(message),
        }
    }

    fn progress(&mut self, message: &str) {
        engine_stage_sdk::progress(message, None);
    }
}

/// A session started through the SDK.
#[derive(Debug)]
pub struct SdkSession(Session);

impl AgentSession for SdkSession {
    fn next_event(&mut self) -> Option<Event> {
        self.0.next_event()
    }

    fn cancel(&mut self) {
        self.0.cancel();
    }

    fn finish(self) -> Summary {
        self.0.finish()
    }
}
