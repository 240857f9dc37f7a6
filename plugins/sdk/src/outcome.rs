//! How an attempt ends: [`Success`] or [`StageError`].

use serde_json::{Map, Value};

/// A successful attempt: a one-line summary and outputs later stages see.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Success {
    /// One-line summary shown to the user.
    pub summary: String,
    /// Outputs by key (a JSON object).
    pub outputs: Map<String, Value>,
}

impl Success {
    /// A success with this summary and no outputs.
    pub fn new(summary: impl Into<String>) -> Self {
        Success {
            summary: summary.into(),
            outputs: Map::new(),
        }
    }

    /// Adds (or replaces) one output.
    pub fn output(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.outputs.insert(key.into(), value.into());
        self
    }
}

/// A failed attempt. The host retries a retryable error under the stage's retry policy; a
/// fatal one is not retried.
#[derive(Debug, Clone, PartialEq)]
pub struct StageError {
    /// Whether trying again may help.
    pub retryable: bool,
    /// Human-readable message.
    pub message: String,
    /// Structured detail (`null` when there is none).
    pub detail: Value,
}

impl StageError {
    /// A transient failure: trying again may succeed.
    pub fn retryable(message: impl Into<String>) -> Self {
        StageError {
            retryable: true,
            message: message.into(),
            detail: Value::Null,
        }
    }

    /// A deterministic failure: trying again the same way will not help.
    pub fn fatal(message: impl Into<String>) -> Self {
        StageError {
            retryable: false,
            message: message.into(),
            detail: Value::Null,
        }
    }

    /// Attaches structured detail.
    pub fn with_detail(mut self, detail: impl Into<Value>) -> Self {
        self.detail = detail.into();
        self
    }
}

impl std::fmt::Display for StageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StageError {}
