//! Reading a run's attempt logs back: which exist, in which order, and their lines as they
//! grow (a reader keeps where it stopped in each file, so it can be called again while the run
//! writes).

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use engine_core::RunState;

use crate::EngineError;
use crate::history::order::StageOrder;

/// One attempt's log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptFile {
    /// The stage.
    pub stage: String,
    /// The attempt number.
    pub attempt: u32,
    /// The file.
    pub path: PathBuf,
}

/// Which attempts to read: all, one stage's, one attempt number's, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Only this stage.
    pub stage: Option<String>,
    /// Only this attempt number.
    pub attempt: Option<u32>,
}

impl Selection {
    fn keeps(&self, file: &AttemptFile) -> bool {
        self.stage.as_ref().is_none_or(|s| *s == file.stage)
            && self.attempt.is_none_or(|a| a == file.attempt)
    }
}

/// `<state>/runs/<run>/logs`.
pub fn logs_dir(state_dir: &Path, run_id: &str) -> PathBuf {
    state_dir.join("runs").join(run_id).join("logs")
}

/// The attempt logs of run `run_id` that `selection` keeps, in the order the attempts started
/// (from `state`; attempts it does not know, such as `finally:` stages', after them in pipeline
/// order). No log directory yet: none.
pub fn attempt_files(
    state_dir: &Path,
    run_id: &str,
    state: &RunState,
    order: &StageOrder,
    selection: &Selection,
) -> Result<Vec<AttemptFile>, EngineError> {
    let dir = logs_dir(state_dir, run_id);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(EngineError::io(&dir, e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| EngineError::io(&dir, e))?;
        let name = entry.file_name();
        let Some((stage, attempt)) = name.to_str().and_then(parse_name) else {
            continue;
        };
        let file = AttemptFile {
            stage,
            attempt,
            path: entry.path(),
        };
        if selection.keeps(&file) {
            files.push(file);
        }
    }
    let position = |stage: &str| {
        order
            .stages
            .iter()
            .chain(&order.finally)
            .position(|s| s == stage)
            .unwrap_or(usize::MAX)
    };
    let started = |file: &AttemptFile| {
        state
            .stages
            .get(&file.stage)
            .and_then(|st| st.history.iter().find(|r| r.attempt == file.attempt))
            .map_or(u64::MAX, |r| r.started_at_ms)
    };
    files.sort_by_cached_key(|f| (started(f), position(&f.stage), f.stage.clone(), f.attempt));
    Ok(files)
}

/// `test.2.log` → `("test", 2)`.
fn parse_name(name: &str) -> Option<(String, u32)> {
    let base = name.strip_suffix(".log")?;
    let (stage, attempt) = base.rsplit_once('.')?;
    let attempt = attempt.parse().ok()?;
    (!stage.is_empty()).then(|| (stage.to_string(), attempt))
}

/// A line of an attempt log, with where it is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The stage.
    pub stage: String,
    /// The attempt.
    pub attempt: u32,
    /// The record's level (`OUT`, `INFO`, `AGENT`...).
    pub level: String,
    /// The text.
    pub text: String,
}

impl LogLine {
    /// `test#1 out   the text`: stage and attempt, the tag of its level, the text; the text's
    /// control characters escaped when `escape` (for a terminal).
    pub fn render(&self, escape: bool) -> String {
        let tag = super::tag(&self.level);
        let text = if escape {
            crate::terminal::safe(&self.text)
        } else {
            std::borrow::Cow::Borrowed(self.text.as_str())
        };
        let head = if escape {
            crate::terminal::safe(&self.stage).into_owned()
        } else {
            self.stage.clone()
        };
        format!("{head}#{} {tag:<5} {text}", self.attempt)
    }
}

/// Where a reader stopped in one file.
#[derive(Debug, Default)]
struct Cursor {
    offset: u64,
    /// The end of the file read so far when it did not end with a line feed.
    partial: Vec<u8>,
    /// The level of the last record (for continuation lines).
    level: String,
}

/// Reads attempt logs incrementally.
#[derive(Debug, Default)]
pub struct LogReader {
    cursors: BTreeMap<PathBuf, Cursor>,
}

impl LogReader {
    /// A reader that has read nothing.
    pub fn new() -> Self {
        LogReader::default()
    }

    /// The complete lines added to `files` since the last call, file after file; with
    /// `last`, a line still missing its line feed too (the writer is done).
    pub fn read(&mut self, files: &[AttemptFile], last: bool) -> Result<Vec<LogLine>, EngineError> {
        let mut out = Vec::new();
        for file in files {
            let cursor = self.cursors.entry(file.path.clone()).or_default();
            let mut bytes = std::mem::take(&mut cursor.partial);
            let added = read_from(&file.path, cursor.offset, &mut bytes)?;
            cursor.offset += added;
            let complete = match bytes.iter().rposition(|b| *b == b'\n') {
                Some(i) => {
                    cursor.partial = bytes.split_off(i + 1);
                    bytes
                }
                None => std::mem::replace(&mut cursor.partial, bytes),
            };
            let mut text = String::from_utf8_lossy(&complete).into_owned();
            if last && !cursor.partial.is_empty() {
                text.push_str(&String::from_utf8_lossy(&std::mem::take(
                    &mut cursor.partial,
                )));
                text.push('\n');
            }
            for line in text.lines() {
                let (level, text) = super::parse_record(line, &cursor.level);
                cursor.level.clone_from(&level);
                out.push(LogLine {
                    stage: file.stage.clone(),
                    attempt: file.attempt,
                    level,
                    text,
                });
            }
        }
        Ok(out)
    }
}

/// Appends what `path` holds from `offset` on to `out`; returns how many bytes. A file that
/// is gone (or not there yet) holds nothing.
fn read_from(path: &Path, offset: u64, out: &mut Vec<u8>) -> Result<u64, EngineError> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(EngineError::io(path, e)),
    };
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| EngineError::io(path, e))?;
    let read = file
        .read_to_end(out)
        .map_err(|e| EngineError::io(path, e))?;
    Ok(read as u64)
}

/// The text of the last `n` output lines (`OUT`, `ERR`) of the attempt log at `path`, with
/// what was cut (`CUT`) said where it was; empty when there is no such log or no output.
pub fn output_tail(path: &Path, n: usize) -> Vec<String> {
    let file = AttemptFile {
        stage: String::new(),
        attempt: 0,
        path: path.to_path_buf(),
    };
    let Ok(lines) = LogReader::new().read(std::slice::from_ref(&file), true) else {
        return Vec::new();
    };
    let output: Vec<String> = lines
        .into_iter()
        .filter(|l| matches!(l.level.as_str(), "OUT" | "ERR" | "CUT"))
        .map(|l| l.text)
        .collect();
    output[output.len().saturating_sub(n)..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stage_and_attempt() {
        assert_eq!(parse_name("test.2.log"), Some(("test".into(), 2)));
        assert_eq!(parse_name("a.b.10.log"), Some(("a.b".into(), 10)));
        assert_eq!(parse_name("test.log"), None);
        assert_eq!(parse_name(".1.log"), None);
        assert_eq!(parse_name("x.1.txt"), None);
    }

    #[test]
    fn a_growing_file_is_read_line_by_line_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.1.log");
        let file = AttemptFile {
            stage: "test".into(),
            attempt: 1,
            path: path.clone(),
        };
        let files = std::slice::from_ref(&file);
        let mut reader = LogReader::new();
        assert!(reader.read(files, false).unwrap().is_empty());
        std::fs::write(
            &path,
            "2026-01-02T03:04:05Z OUT   one\n2026-01-02T03:04:05Z ERR   tw",
        )
        .unwrap();
        let texts =
            |lines: Vec<LogLine>| -> Vec<String> { lines.iter().map(|l| l.render(true)).collect() };
        assert_eq!(
            texts(reader.read(files, false).unwrap()),
            ["test#1 out   one"]
        );
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        std::io::Write::write_all(&mut f, b"o\x1b[2J\n").unwrap();
        assert_eq!(
            texts(reader.read(files, false).unwrap()),
            ["test#1 err   two\\x1b[2J"]
        );
        assert!(reader.read(files, true).unwrap().is_empty());
        assert_eq!(output_tail(&path, 1), ["two\x1b[2J"]);
    }
}
