//! The agent sessions of an attempt, from their transcripts
//! (`<state>/runs/<run>/transcripts/<stage>.<attempt>.<n>.jsonl`, see
//! `agents::launcher`): an attempt with transcripts ran an agent.
//!
//! A transcript's entries carry `t`, ms since the session started; the file's last change is
//! when the session ended. Both are kept within the attempt's own start and end.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::UNIX_EPOCH;

use engine_core::AttemptRecord;

use super::spans::SessionFacts;
use crate::history::costs::{transcript_model, transcripts};

/// How much of a transcript's end is read for the time of its last entry.
const TAIL_BYTES: u64 = 64 * 1024;

/// The sessions attempt `record` of `stage` ran, in order; empty for an attempt that ran no
/// agent.
pub fn sessions(
    state_dir: &Path,
    run_id: &str,
    stage: &str,
    record: &AttemptRecord,
) -> Vec<SessionFacts> {
    let attempt_start = record.started_at_ms;
    let attempt_end = record
        .ended_at_ms
        .unwrap_or(attempt_start)
        .max(attempt_start);
    let mut found: Vec<SessionFacts> = transcripts(state_dir, run_id, stage, record.attempt)
        .iter()
        .filter_map(|path| {
            let number = session_number(path)?;
            let end_ms = modified_ms(path)
                .unwrap_or(attempt_end)
                .clamp(attempt_start, attempt_end);
            let start_ms = last_offset_ms(path)
                .map_or(attempt_start, |t| end_ms.saturating_sub(t))
                .clamp(attempt_start, end_ms);
            Some(SessionFacts {
                number,
                start_ms,
                end_ms,
                model: transcript_model(path),
            })
        })
        .collect();
    found.sort_by_key(|s| s.number);
    found
}

/// `n` of `<stage>.<attempt>.<n>.jsonl`.
fn session_number(path: &Path) -> Option<u32> {
    let stem = path.file_stem()?.to_str()?;
    stem.rsplit('.').next()?.parse().ok()
}

fn modified_ms(path: &Path) -> Option<u64> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    let since = modified.duration_since(UNIX_EPOCH).ok()?;
    u64::try_from(since.as_millis()).ok()
}

/// The `t` of the transcript's last complete entry: how long after its start the session
/// wrote last.
fn last_offset_ms(path: &Path) -> Option<u64> {
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(TAIL_BYTES)))
        .ok()?;
    let mut tail = Vec::new();
    file.take(TAIL_BYTES).read_to_end(&mut tail).ok()?;
    let text = String::from_utf8_lossy(&tail);
    text.lines().rev().find_map(|line| {
        serde_json::from_str::<serde_json::Value>(line)
            .ok()?
            .get("t")?
            .as_u64()
    })
}

#[cfg(test)]
mod tests {
    use engine_core::{AttemptOutcome, Spend};

    use super::*;

    fn record(attempt: u32, started: u64, ended: u64) -> AttemptRecord {
        AttemptRecord {
            attempt,
            started_at_ms: started,
            ended_at_ms: Some(ended),
            outcome: AttemptOutcome::Succeeded {
                summary: String::new(),
            },
            spend: Spend::NONE,
            commits: Vec::new(),
        }
    }

    #[test]
    fn sessions_come_from_the_attempts_transcripts_within_its_time() {
        let dir = tempfile::tempdir().unwrap();
        let transcripts = dir.path().join("runs/R/transcripts");
        std::fs::create_dir_all(&transcripts).unwrap();
        let line = |t: u64, text: &str| {
            serde_json::json!({"t": t, "stream": "stdout", "line": text}).to_string() + "\n"
        };
        std::fs::write(
            transcripts.join("execute.2.1.jsonl"),
            line(0, r#"{"type":"system","model":"model-a"}"#) + &line(1500, "done"),
        )
        .unwrap();
        std::fs::write(transcripts.join("execute.2.2.jsonl"), line(10, "no model")).unwrap();
        // Another attempt's and another stage's transcripts are not this attempt's.
        std::fs::write(transcripts.join("execute.1.1.jsonl"), line(0, "x")).unwrap();
        std::fs::write(transcripts.join("review.2.1.jsonl"), line(0, "x")).unwrap();
        let now = modified_ms(&transcripts.join("execute.2.1.jsonl")).unwrap();
        // The attempt ended after the files were written: sessions end at their last write.
        let found = sessions(
            dir.path(),
            "R",
            "execute",
            &record(2, now - 60_000, now + 5_000),
        );
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].number, 1);
        assert_eq!(found[0].model.as_deref(), Some("model-a"));
        assert_eq!(found[0].end_ms - found[0].start_ms, 1500);
        assert_eq!(found[1].number, 2);
        assert_eq!(found[1].model, None);
        // An attempt that (by its record) ended before the file's time: clamped to it.
        let clamped = sessions(dir.path(), "R", "execute", &record(2, 1_000, 2_000));
        assert_eq!(clamped[0].end_ms, 2_000);
        assert_eq!(clamped[0].start_ms, 1_000);
        // No transcripts: no agent ran.
        assert!(sessions(dir.path(), "R", "gate", &record(1, 0, 1)).is_empty());
    }
}
