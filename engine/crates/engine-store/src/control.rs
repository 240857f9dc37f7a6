//! Requests from other processes to the one holding the state directory's lock (which alone
//! can open the database): files in `<dir>/control/`, written atomically.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use crate::StoreError;
use crate::keys::validate_run_id;

/// The control directory's name inside the state directory.
const CONTROL_DIR: &str = "control";

/// The file name prefix of a cancel request.
const CANCEL_PREFIX: &str = "cancel-";

/// The file name prefix of an approval answer.
const APPROVAL_PREFIX: &str = "approval-";

/// Asks the process running `run_id` to cancel it: atomically writes
/// `<dir>/control/cancel-<run_id>` holding `reason` (temporary file, fsync, rename). Works
/// without the state directory's lock. A second request for the same run replaces the first.
pub fn request_cancel(dir: &Path, run_id: &str, reason: &str) -> Result<(), StoreError> {
    write_request(dir, CANCEL_PREFIX, run_id, reason.as_bytes())
}

/// Whether a cancel request for `run_id` is still waiting to be taken by the process that holds
/// the state directory.
pub fn cancel_pending(dir: &Path, run_id: &str) -> bool {
    request_pending(dir, CANCEL_PREFIX, run_id)
}

/// Reads and removes every pending cancel request: `(run_id, reason)`, sorted by run id.
/// Nothing pending (or no control directory): empty.
pub fn take_cancel_requests(dir: &Path) -> Result<Vec<(String, String)>, StoreError> {
    take_requests(dir, CANCEL_PREFIX)
}

/// A human's answer to an approval stage, handed to the process driving the run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ApprovalAnswer {
    /// The approval stage; `None`: the one stage that is waiting.
    pub stage: Option<String>,
    /// Approved (true) or rejected (false).
    pub approved: bool,
    /// Who answered.
    pub by: String,
    /// Why.
    pub reason: String,
}

/// Hands an approval answer for `run_id` to the process driving it (`<dir>/control/approval-<run_id>`,
/// written atomically; works without the lock). A second answer replaces the first.
pub fn request_approval(
    dir: &Path,
    run_id: &str,
    answer: &ApprovalAnswer,
) -> Result<(), StoreError> {
    let body = serde_json::to_vec(answer).map_err(|source| StoreError::Encode {
        run_id: run_id.to_string(),
        what: "approval answer",
        source,
    })?;
    write_request(dir, APPROVAL_PREFIX, run_id, &body)
}

/// Whether an approval answer for `run_id` is still waiting to be taken.
pub fn approval_pending(dir: &Path, run_id: &str) -> bool {
    request_pending(dir, APPROVAL_PREFIX, run_id)
}

/// Reads and removes every pending approval answer: `(run_id, answer)`, sorted by run id.
/// An unreadable answer is dropped (with the file) rather than blocking the others.
pub fn take_approval_requests(dir: &Path) -> Result<Vec<(String, ApprovalAnswer)>, StoreError> {
    Ok(take_requests(dir, APPROVAL_PREFIX)?
        .into_iter()
        .filter_map(|(run, body)| Some((run, serde_json::from_str(&body).ok()?)))
        .collect())
}

/// The file name prefix of a pause or unpause request.
const PAUSE_PREFIX: &str = "pause-";

/// Asks the process driving `run_id` to pause it (`paused` true) or to let it go on (false):
/// `<dir>/control/pause-<run_id>`, written atomically; works without the lock. A second
/// request for the same run replaces the first.
pub fn request_pause(dir: &Path, run_id: &str, paused: bool) -> Result<(), StoreError> {
    let body: &[u8] = if paused { b"pause" } else { b"unpause" };
    write_request(dir, PAUSE_PREFIX, run_id, body)
}

/// Whether a pause or unpause request for `run_id` is still waiting to be taken.
pub fn pause_pending(dir: &Path, run_id: &str) -> bool {
    request_pending(dir, PAUSE_PREFIX, run_id)
}

/// Reads and removes every pending pause or unpause request: `(run_id, paused)`, sorted by
/// run id. An unreadable request is dropped (with the file).
pub fn take_pause_requests(dir: &Path) -> Result<Vec<(String, bool)>, StoreError> {
    Ok(take_requests(dir, PAUSE_PREFIX)?
        .into_iter()
        .filter_map(|(run, body)| match body.as_str() {
            "pause" => Some((run, true)),
            "unpause" => Some((run, false)),
            _ => None,
        })
        .collect())
}

fn write_request(dir: &Path, prefix: &str, run_id: &str, body: &[u8]) -> Result<(), StoreError> {
    validate_run_id(run_id)?;
    let control = dir.join(CONTROL_DIR);
    std::fs::create_dir_all(&control).map_err(|e| StoreError::io("creating", &control, e))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let temp = control.join(format!(
        ".{prefix}{run_id}.{}.{nanos}.tmp",
        std::process::id()
    ));
    let target = request_path(dir, prefix, run_id);
    let write = || -> std::io::Result<()> {
        let mut file = File::create(&temp)?;
        file.write_all(body)?;
        file.sync_all()
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&temp);
        return Err(StoreError::io("writing", &temp, e));
    }
    if let Err(e) = std::fs::rename(&temp, &target) {
        let _ = std::fs::remove_file(&temp);
        return Err(StoreError::io("renaming into", &target, e));
    }
    // Make the rename itself durable.
    File::open(&control)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io("syncing", &control, e))
}

/// Where a request of this kind for `run_id` is written.
fn request_path(dir: &Path, prefix: &str, run_id: &str) -> std::path::PathBuf {
    dir.join(CONTROL_DIR).join(format!("{prefix}{run_id}"))
}

fn request_pending(dir: &Path, prefix: &str, run_id: &str) -> bool {
    validate_run_id(run_id).is_ok() && request_path(dir, prefix, run_id).exists()
}

fn take_requests(dir: &Path, prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
    let control = dir.join(CONTROL_DIR);
    let entries = match std::fs::read_dir(&control) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io("listing", &control, e)),
    };
    let mut requests = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io("listing", &control, e))?;
        let name = entry.file_name();
        let Some(run_id) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else {
            continue;
        };
        if validate_run_id(run_id).is_err() {
            continue;
        }
        let path = entry.path();
        let body = match std::fs::read(&path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            // Taken by someone else in the meantime.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StoreError::io("reading", &path, e)),
        };
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StoreError::io("removing", &path, e)),
        }
        requests.push((run_id.to_string(), body));
    }
    requests.sort();
    Ok(requests)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StateDir;

    #[test]
    fn cancel_requests_round_trip_and_are_consumed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        assert_eq!(take_cancel_requests(dir).unwrap(), vec![]);
        request_cancel(dir, "01B", "first").unwrap();
        request_cancel(dir, "01A", "user pressed stop").unwrap();
        request_cancel(dir, "01B", "second").unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.join("control"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(
            names
                .iter()
                .all(|n| Path::new(n).extension().is_none_or(|e| e != "tmp")),
            "{names:?}"
        );
        assert_eq!(
            take_cancel_requests(dir).unwrap(),
            vec![
                ("01A".to_string(), "user pressed stop".to_string()),
                ("01B".to_string(), "second".to_string()),
            ]
        );
        assert_eq!(take_cancel_requests(dir).unwrap(), vec![]);
    }

    #[test]
    fn cancel_works_while_another_holds_the_lock() {
        let tmp = tempfile::tempdir().unwrap();
        let held = StateDir::open_locked(tmp.path(), "engine run").unwrap();
        request_cancel(tmp.path(), "01C", "stop").unwrap();
        assert_eq!(
            take_cancel_requests(held.path()).unwrap(),
            vec![("01C".to_string(), "stop".to_string())]
        );
    }

    #[test]
    fn unsafe_run_ids_are_refused_and_stray_files_ignored() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(matches!(
            request_cancel(tmp.path(), "../x", "r"),
            Err(StoreError::InvalidRunId(_))
        ));
        std::fs::create_dir_all(tmp.path().join("control")).unwrap();
        std::fs::write(tmp.path().join("control/.cancel-01A.1.2.tmp"), "partial").unwrap();
        std::fs::write(tmp.path().join("control/notes"), "x").unwrap();
        assert_eq!(take_cancel_requests(tmp.path()).unwrap(), vec![]);
        assert!(tmp.path().join("control/.cancel-01A.1.2.tmp").exists());
    }

    #[test]
    fn approval_answers_round_trip_apart_from_cancels() {
        let tmp = tempfile::tempdir().unwrap();
        let answer = ApprovalAnswer {
            stage: Some("ship".into()),
            approved: false,
            by: "ana".into(),
            reason: "rename the flag".into(),
        };
        request_approval(tmp.path(), "01A", &answer).unwrap();
        request_cancel(tmp.path(), "01B", "stop").unwrap();
        assert!(approval_pending(tmp.path(), "01A"));
        assert_eq!(
            take_approval_requests(tmp.path()).unwrap(),
            vec![("01A".to_string(), answer)]
        );
        assert!(!approval_pending(tmp.path(), "01A"));
        assert_eq!(take_cancel_requests(tmp.path()).unwrap().len(), 1);
    }

    #[test]
    fn pause_requests_round_trip_and_the_latest_wins() {
        let tmp = tempfile::tempdir().unwrap();
        request_pause(tmp.path(), "01A", true).unwrap();
        request_pause(tmp.path(), "01B", true).unwrap();
        request_pause(tmp.path(), "01B", false).unwrap();
        request_cancel(tmp.path(), "01C", "stop").unwrap();
        assert!(pause_pending(tmp.path(), "01B"));
        assert_eq!(
            take_pause_requests(tmp.path()).unwrap(),
            vec![("01A".to_string(), true), ("01B".to_string(), false)]
        );
        assert!(!pause_pending(tmp.path(), "01B"));
        assert_eq!(take_cancel_requests(tmp.path()).unwrap().len(), 1);
    }
}
