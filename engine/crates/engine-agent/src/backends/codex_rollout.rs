//! Codex's rollout files: `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<thread id>.jsonl`,
//! where Codex records each thread as it goes, among it a `token_count` event with the thread's
//! cumulative usage after every model response.
//!
//! `codex exec --json` reports usage only in `turn.completed`, and there as the whole
//! *thread's* total: a resumed session repeats every earlier session's tokens, and a session
//! killed before its turn ended reports nothing. The rollout gives both what the thread had
//! spent before a session (the baseline to subtract) and what a session spends while it runs.
//!
//! Reading is best effort: the rollout only adds to what stdout says (a missing or unreadable
//! file leaves the parser with stdout alone, as without a rollout). The file is read
//! incrementally (only the complete lines appended since the last read).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::event::Usage;

use crate::backends::codex_wire::RolloutLine;

/// The most bytes read from a rollout in one go (the rest waits for the next read).
const MAX_READ_BYTES: u64 = 64 * 1024 * 1024;

/// Follows one thread's rollout file.
#[derive(Debug, Clone)]
pub(crate) struct Rollout {
    sessions: PathBuf,
    thread_id: Option<String>,
    path: Option<PathBuf>,
    offset: u64,
    latest: Option<Usage>,
}

impl Rollout {
    /// Rollouts under `codex_home` (`$CODEX_HOME`, by default `~/.codex`).
    pub(crate) fn new(codex_home: &Path) -> Self {
        Self {
            sessions: codex_home.join("sessions"),
            thread_id: None,
            path: None,
            offset: 0,
            latest: None,
        }
    }

    /// The thread to follow, once known (the first one set stays).
    pub(crate) fn set_thread(&mut self, thread_id: &str) {
        if self.thread_id.is_none() && is_thread_id(thread_id) {
            self.thread_id = Some(thread_id.to_owned());
        }
    }

    /// Reads what was appended since the last call: the thread's latest cumulative usage
    /// (normalized), if the rollout has reported any so far.
    pub(crate) fn poll(&mut self) -> Option<Usage> {
        if self.path.is_none() {
            self.path = self.find();
        }
        if let Some(path) = self.path.clone() {
            // Best effort (see the module doc): an I/O error keeps what was known.
            let _ = self.read_new(&path);
        }
        self.latest
    }

    fn read_new(&mut self, path: &Path) -> std::io::Result<()> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        if len <= self.offset {
            return Ok(());
        }
        file.seek(SeekFrom::Start(self.offset))?;
        let mut bytes = Vec::new();
        file.take(MAX_READ_BYTES).read_to_end(&mut bytes)?;
        let Some(end) = bytes.iter().rposition(|b| *b == b'\n') else {
            return Ok(());
        };
        for line in bytes[..end].split(|b| *b == b'\n') {
            if let Some(usage) = token_count(line) {
                self.latest = Some(usage);
            }
        }
        self.offset += u64::try_from(end + 1).unwrap_or(0);
        Ok(())
    }

    /// The rollout file of the thread: the newest day folders first.
    fn find(&self) -> Option<PathBuf> {
        let suffix = format!("-{}.jsonl", self.thread_id.as_deref()?);
        for year in sorted_dirs(&self.sessions) {
            for month in sorted_dirs(&year) {
                for day in sorted_dirs(&month) {
                    let Ok(entries) = std::fs::read_dir(&day) else {
                        continue;
                    };
                    for entry in entries.flatten() {
                        let name = entry.file_name();
                        let name = name.to_string_lossy();
                        if name.starts_with("rollout-") && name.ends_with(&suffix) {
                            return Some(entry.path());
                        }
                    }
                }
            }
        }
        None
    }
}

/// The sub-folders of `dir`, newest (greatest name) first.
fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    dirs.sort();
    dirs.reverse();
    dirs
}

/// A thread id names a file: hex digits and dashes only (a UUID).
fn is_thread_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// The cumulative usage of a `token_count` rollout line.
fn token_count(line: &[u8]) -> Option<Usage> {
    let line: RolloutLine<'_> = serde_json::from_slice(line).ok()?;
    let payload = line.payload?;
    if line.kind.as_str() != "event_msg" || payload.kind.as_str() != "token_count" {
        return None;
    }
    Some(payload.info?.total_token_usage?.normalized())
}

/// Codex's home for a CLI environment: `CODEX_HOME`, else `$HOME/.codex` (the last value of a
/// variable set twice wins, as when the process is spawned).
pub(crate) fn codex_home(env: &[(String, String)]) -> Option<PathBuf> {
    let var = |name: &str| {
        env.iter()
            .rev()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| PathBuf::from(v))
    };
    var("CODEX_HOME").or_else(|| var("HOME").map(|home| home.join(".codex")))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const THREAD: &str = "01a24aea-0bba-7fe1-b781-0c9ad40e3643";

    fn token_line(input: u64, cached: u64, output: u64) -> String {
        format!(
            r#"{{"timestamp":"2026-12-06T10:33:02.338Z","type":"event_msg","payload":{{"type":"token_count","info":{{"total_token_usage":{{"input_tokens":{input},"cached_input_tokens":{cached},"cache_write_input_tokens":0,"output_tokens":{output},"reasoning_output_tokens":0,"total_tokens":0}},"last_token_usage":{{"input_tokens":1,"cached_input_tokens":0,"output_tokens":1}}}}}}}}"#
        ) + "\n"
    }

    fn rollout_file(home: &Path) -> PathBuf {
        let day = home.join("sessions/2026/12/06");
        std::fs::create_dir_all(&day).unwrap();
        std::fs::create_dir_all(home.join("sessions/2026/11/30")).unwrap();
        day.join(format!("rollout-2026-12-06T10-33-02-{THREAD}.jsonl"))
    }

    #[test]
    fn follows_the_threads_cumulative_usage_as_lines_are_appended() {
        let home = tempfile::tempdir().unwrap();
        let path = rollout_file(home.path());
        let mut rollout = Rollout::new(home.path());
        assert_eq!(rollout.poll(), None, "no thread yet");
        rollout.set_thread(THREAD);
        assert_eq!(rollout.poll(), None, "no file yet");
        std::fs::write(
            &path,
            r#"{"type":"session_meta","payload":{"id":"x"}}"#.to_owned() + "\n",
        )
        .unwrap();
        assert_eq!(rollout.poll(), None);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(token_line(1500, 500, 50).as_bytes()).unwrap();
        let first = rollout.poll().unwrap();
        assert_eq!(
            (
                first.input_tokens,
                first.cache_read_tokens,
                first.output_tokens
            ),
            (1000, 500, 50)
        );
        // A line still being written is left for the next read.
        let second = token_line(3500, 1300, 80);
        let (head, tail) = second.split_at(40);
        f.write_all(head.as_bytes()).unwrap();
        assert_eq!(rollout.poll(), Some(first));
        f.write_all(tail.as_bytes()).unwrap();
        let second = rollout.poll().unwrap();
        assert_eq!(
            (
                second.input_tokens,
                second.cache_read_tokens,
                second.output_tokens
            ),
            (2200, 1300, 80)
        );
    }

    #[test]
    fn ids_that_are_not_uuids_are_ignored() {
        let mut rollout = Rollout::new(Path::new("/nonexistent"));
        rollout.set_thread("../../etc");
        assert_eq!(rollout.thread_id, None);
        assert_eq!(rollout.poll(), None);
    }

    #[test]
    fn codex_home_prefers_codex_home_then_the_last_home() {
        let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert_eq!(
            codex_home(&env(&[("HOME", "/h1"), ("HOME", "/h2")])),
            Some(PathBuf::from("/h2/.codex"))
        );
        assert_eq!(
            codex_home(&env(&[("HOME", "/h"), ("CODEX_HOME", "/c")])),
            Some(PathBuf::from("/c"))
        );
        assert_eq!(codex_home(&env(&[("PATH", "/bin")])), None);
    }
}
