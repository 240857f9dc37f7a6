//! Writing to the run's log. Always available; no permission needed.

use crate::bindings::engine::stage::log::{Level, log};

/// Writes a trace line.
pub fn trace(message: &str) {
    log(Level::Trace, message);
}

/// Writes a debug line.
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// Writes an info line.
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Writes a warning.
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// Writes an error line.
pub fn error(message: &str) {
    log(Level::Error, message);
}
