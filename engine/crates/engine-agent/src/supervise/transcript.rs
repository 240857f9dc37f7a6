//! The raw transcript: every line the CLI wrote, parseable or not, and every decision the
//! supervisor made, as JSONL `{"t": ms_since_start, "stream": "stdout"|"stderr"|"supervisor",
//! "line": "..."}` (plus `"truncated": true` for a line cut at the cap).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::supervise::error::SuperviseError;

/// What a secret value is replaced with.
const REDACTED: &str = "[redacted]";

#[derive(Serialize)]
struct Entry<'a> {
    t: u64,
    stream: &'a str,
    line: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    truncated: bool,
}

/// Appends to the transcript file. Write failures are logged once and otherwise ignored: a full
/// disk must not leave an agent unsupervised.
pub(crate) struct Transcript {
    path: PathBuf,
    out: BufWriter<File>,
    started: Instant,
    dirty: bool,
    failed: bool,
    redact: Vec<String>,
}

impl Transcript {
    /// Opens (appends to) the transcript, creating its directory.
    /// Every occurrence of a value in `redact` is written as `[redacted]`.
    pub(crate) fn open(
        path: &Path,
        started: Instant,
        redact: Vec<String>,
    ) -> Result<Self, SuperviseError> {
        let failed = |e: std::io::Error| SuperviseError::Transcript {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(failed)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(failed)?;
        Ok(Transcript {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(64 * 1024, file),
            started,
            dirty: false,
            failed: false,
            redact: redact.into_iter().filter(|s| !s.is_empty()).collect(),
        })
    }

    /// Records one line.
    pub(crate) fn line(&mut self, stream: &str, line: &str, truncated: bool) {
        let redacted;
        let line = if self.redact.iter().any(|s| line.contains(s.as_str())) {
            let mut text = line.to_string();
            for secret in &self.redact {
                text = text.replace(secret.as_str(), REDACTED);
            }
            redacted = text;
            redacted.as_str()
        } else {
            line
        };
        let entry = Entry {
            t: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            stream,
            line,
            truncated,
        };
        let written = serde_json::to_writer(&mut self.out, &entry)
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"));
        self.dirty = true;
        self.check(written);
    }

    /// Records a decision of the supervisor.
    pub(crate) fn supervisor(&mut self, message: &str) {
        self.line("supervisor", message, false);
    }

    /// Pushes buffered lines to the file (so a running session's transcript is current).
    pub(crate) fn flush(&mut self) {
        if self.dirty {
            self.dirty = false;
            let flushed = self.out.flush();
            self.check(flushed);
        }
    }

    fn check(&mut self, result: std::io::Result<()>) {
        if let Err(e) = result
            && !self.failed
        {
            self.failed = true;
            tracing::warn!(
                "cannot write the agent transcript {}: {e}",
                self.path.display()
            );
        }
    }
}

impl Drop for Transcript {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_never_reach_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let secrets = vec!["s3cr3t-token".to_string(), String::new()];
        let mut transcript = Transcript::open(&path, Instant::now(), secrets).unwrap();
        transcript.line(
            "stdout",
            "{\"text\":\"using s3cr3t-token twice: s3cr3t-token\"}",
            false,
        );
        transcript.supervisor("nothing to hide");
        drop(transcript);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("s3cr3t-token"), "{text}");
        assert_eq!(text.matches("[redacted]").count(), 2, "{text}");
        assert!(text.contains("nothing to hide"));
    }

    #[test]
    fn appends_jsonl_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/attempt.jsonl");
        let mut transcript = Transcript::open(&path, Instant::now(), Vec::new()).unwrap();
        transcript.line("stdout", "{\"type\":\"x\"}", false);
        transcript.line("stderr", "not json", true);
        transcript.supervisor("killed");
        drop(transcript);
        let mut again = Transcript::open(&path, Instant::now(), Vec::new()).unwrap();
        again.supervisor("second session");
        drop(again);

        let text = std::fs::read_to_string(&path).unwrap();
        let entries: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[0]["stream"], "stdout");
        assert_eq!(entries[0]["line"], "{\"type\":\"x\"}");
        assert!(entries[0].get("truncated").is_none());
        assert_eq!(entries[1]["truncated"], true);
        assert_eq!(entries[2]["stream"], "supervisor");
        assert_eq!(entries[3]["line"], "second session");
        assert!(entries[0]["t"].is_u64());
    }
}
