//! Persistent state across invocations: the session counter and the invocation log, in a
//! directory shared by every invocation of one script.
//!
//! `<state>/count` holds how many sessions have been played; `<state>/ordered` how many of them
//! were sessions without `match`; `<state>/matched` the `match` sessions played (their 1-based
//! position in the script, one a line); `<state>/invocations.jsonl` gets one JSON object per
//! invocation. Both are updated under an exclusive lock on `<state>/lock`, so
//! concurrent invocations count and log correctly.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::ScriptedAgentError;

/// The log of invocations, one JSON object a line.
pub const INVOCATIONS_FILE: &str = "invocations.jsonl";
/// How many sessions have been played.
pub const COUNT_FILE: &str = "count";
/// How many sessions without `match` have been played.
pub const ORDERED_FILE: &str = "ordered";
/// The `match` sessions already played (1-based script positions, one a line).
pub const MATCHED_FILE: &str = "matched";
/// Directory name used when no `--state` is given.
pub const DEFAULT_STATE_DIR: &str = ".scripted-agent";

/// The state directory.
#[derive(Debug, Clone, PartialEq)]
pub struct StateDir {
    path: PathBuf,
}

impl StateDir {
    /// The explicit `--state DIR`, else `.scripted-agent/` next to the script (in the current
    /// directory when the script path has no directory part).
    pub fn resolve(explicit: Option<&Path>, script: &Path) -> StateDir {
        let path = match explicit {
            Some(dir) => dir.to_path_buf(),
            None => match script.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.join(DEFAULT_STATE_DIR),
                _ => PathBuf::from(DEFAULT_STATE_DIR),
            },
        };
        StateDir { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the state lock (creating the directory), held until the guard drops.
    pub fn lock(&self) -> Result<StateLock<'_>, ScriptedAgentError> {
        std::fs::create_dir_all(&self.path).map_err(|source| state_error(&self.path, source))?;
        let lock_path = self.path.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| state_error(&lock_path, source))?;
        file.lock()
            .map_err(|source| state_error(&lock_path, source))?;
        Ok(StateLock {
            dir: self,
            _file: file,
        })
    }
}

/// A failure to read or write `path` in the state directory.
fn state_error(path: &Path, source: std::io::Error) -> ScriptedAgentError {
    ScriptedAgentError::State {
        path: path.to_path_buf(),
        source,
    }
}

/// The state, locked.
pub struct StateLock<'a> {
    dir: &'a StateDir,
    _file: File,
}

impl StateLock<'_> {
    /// Counts one more session and returns its number (1 for the first). A missing or
    /// unreadable counter counts as 0.
    pub fn next_session(&mut self) -> Result<u64, ScriptedAgentError> {
        let path = self.dir.path.join(COUNT_FILE);
        let previous = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok())
            .unwrap_or(0);
        let next = previous.saturating_add(1);
        std::fs::write(&path, format!("{next}\n")).map_err(|source| state_error(&path, source))?;
        Ok(next)
    }

    /// How many sessions without `match` were played so far (0 when unknown).
    pub fn ordered_played(&self) -> u64 {
        self.read_number(ORDERED_FILE)
    }

    /// Counts one more play of a session without `match`.
    pub fn count_ordered(&mut self) -> Result<(), ScriptedAgentError> {
        let next = self.ordered_played().saturating_add(1);
        let path = self.dir.path.join(ORDERED_FILE);
        std::fs::write(&path, format!("{next}\n")).map_err(|source| state_error(&path, source))
    }

    /// The `match` sessions already played (0-based indexes).
    pub fn used_matched(&self) -> BTreeSet<usize> {
        std::fs::read_to_string(self.dir.path.join(MATCHED_FILE))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.trim().parse::<usize>().ok())
            .filter_map(|position| position.checked_sub(1))
            .collect()
    }

    /// Records that the `match` session at `index` (0-based) was played.
    pub fn mark_matched(&mut self, index: usize) -> Result<(), ScriptedAgentError> {
        let path = self.dir.path.join(MATCHED_FILE);
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|source| state_error(&path, source))?;
        writeln!(file, "{}", index + 1).map_err(|source| state_error(&path, source))
    }

    fn read_number(&self, name: &str) -> u64 {
        std::fs::read_to_string(self.dir.path.join(name))
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok())
            .unwrap_or(0)
    }

    /// Appends one record to the invocation log.
    pub fn record(&mut self, record: &Value) -> Result<(), ScriptedAgentError> {
        let path = self.dir.path.join(INVOCATIONS_FILE);
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|source| state_error(&path, source))?;
        writeln!(file, "{record}").map_err(|source| state_error(&path, source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_state_dir_sits_next_to_the_script() {
        let state = StateDir::resolve(None, Path::new("/a/b/script.yaml"));
        assert_eq!(state.path(), Path::new("/a/b/.scripted-agent"));
        let state = StateDir::resolve(None, Path::new("script.yaml"));
        assert_eq!(state.path(), Path::new(".scripted-agent"));
        let state = StateDir::resolve(Some(Path::new("/s")), Path::new("/a/script.yaml"));
        assert_eq!(state.path(), Path::new("/s"));
    }

    #[test]
    fn counts_sessions_and_appends_records() {
        let temp = tempfile::tempdir().unwrap();
        let state = StateDir::resolve(Some(&temp.path().join("st")), Path::new("x"));
        for expected in 1..=3 {
            let mut lock = state.lock().unwrap();
            assert_eq!(lock.next_session().unwrap(), expected);
            lock.record(&serde_json::json!({"n": expected})).unwrap();
        }
        let log = std::fs::read_to_string(temp.path().join("st").join(INVOCATIONS_FILE)).unwrap();
        assert_eq!(log, "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");
    }

    #[test]
    fn remembers_matched_and_ordered_plays() {
        let temp = tempfile::tempdir().unwrap();
        let state = StateDir::resolve(Some(temp.path()), Path::new("x"));
        let mut lock = state.lock().unwrap();
        assert_eq!(lock.ordered_played(), 0);
        assert!(lock.used_matched().is_empty());
        lock.count_ordered().unwrap();
        lock.count_ordered().unwrap();
        lock.mark_matched(0).unwrap();
        lock.mark_matched(3).unwrap();
        drop(lock);
        let lock = state.lock().unwrap();
        assert_eq!(lock.ordered_played(), 2);
        assert_eq!(lock.used_matched(), BTreeSet::from([0, 3]));
        assert_eq!(
            std::fs::read_to_string(temp.path().join(MATCHED_FILE)).unwrap(),
            "1\n4\n"
        );
    }
}
