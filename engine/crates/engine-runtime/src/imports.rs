//! The host side of the stage world's imports: `log` and `exec`.

use crate::attempt::LogLevel;
use crate::bindings::engine::stage::{exec, log, types};
use crate::sandbox::StageState;

/// Longest log message forwarded; longer ones are cut (a guest must not flood the host).
const MAX_LOG_MESSAGE: usize = 64 * 1024;

impl log::Host for StageState {
    async fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        let level = match level {
            log::Level::Trace => LogLevel::Trace,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Info => LogLevel::Info,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Error => LogLevel::Error,
        };
        self.observer.log(level, truncate(&message));
        Ok(())
    }

    async fn progress(&mut self, message: String, fraction: Option<f32>) -> wasmtime::Result<()> {
        let fraction = fraction
            .filter(|f| f.is_finite())
            .map(|f| f.clamp(0.0, 1.0));
        self.observer.progress(truncate(&message), fraction);
        Ok(())
    }
}

impl exec::Host for StageState {
    async fn run(
        &mut self,
        command: exec::Command,
    ) -> wasmtime::Result<Result<exec::Output, exec::ExecError>> {
        Ok(self.exec.run(command).await)
    }
}

impl types::Host for StageState {}

/// `message` cut at [`MAX_LOG_MESSAGE`] bytes (on a character boundary).
fn truncate(message: &str) -> &str {
    &message[..message.floor_char_boundary(MAX_LOG_MESSAGE)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_on_a_char_boundary() {
        let long = "é".repeat(MAX_LOG_MESSAGE);
        let cut = truncate(&long);
        assert!(cut.len() <= MAX_LOG_MESSAGE);
        assert!(cut.chars().all(|c| c == 'é'));
        assert_eq!(truncate("short"), "short");
    }
}
