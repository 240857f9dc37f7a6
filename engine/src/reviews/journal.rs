//! The record of a review answer in progress, one JSON file per pull request under
//! `<state dir>/reviews/`: which run fixes which feedback, from which commit, and once pushed,
//! which commit went out. Written before each step that acts outside engine (temp file, fsync,
//! rename, fsync of the directory), removed once every reply is posted. A later
//! `engine reviews` that finds one finishes it (the run, then the push, then the replies that
//! GitHub does not have yet) instead of starting another fix: a kill between the push and the
//! replies never pushes twice and never loses a reply.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ReviewsError;
use super::select::Feedback;

/// One pull request's answer in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The pull request.
    pub pr: u64,
    /// Its head branch (checked with [`super::push::check_branch`]).
    pub branch: String,
    /// The remote pushed to.
    pub remote: String,
    /// The commit of the head branch the fix started from.
    pub start: String,
    /// The fix run.
    pub run_id: String,
    /// The feedback it answers.
    pub feedback: Vec<Feedback>,
    /// The commit pushed (set once the push succeeded or was found done).
    #[serde(default)]
    pub pushed: Option<String>,
}

/// The directory of the records.
pub fn dir(state_dir: &Path) -> PathBuf {
    state_dir.join("reviews")
}

fn file(state_dir: &Path, pr: u64) -> PathBuf {
    dir(state_dir).join(format!("pr-{pr}.json"))
}

fn failed(path: &Path, what: &str, e: &std::io::Error) -> ReviewsError {
    ReviewsError::Journal {
        path: path.to_path_buf(),
        detail: format!("{what}: {e}"),
    }
}

/// The record of PR `pr`, if any.
pub fn load(state_dir: &Path, pr: u64) -> Result<Option<Pending>, ReviewsError> {
    let path = file(state_dir, pr);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(failed(&path, "cannot read it", &e)),
    };
    let pending: Pending = serde_json::from_str(&text).map_err(|e| ReviewsError::Journal {
        path: path.clone(),
        detail: format!(
            "not a record engine wrote ({e}); remove it to answer PR #{pr}'s review afresh"
        ),
    })?;
    if pending.pr != pr {
        return Err(ReviewsError::Journal {
            path,
            detail: format!("records PR #{} instead of #{pr}", pending.pr),
        });
    }
    Ok(Some(pending))
}

/// Every PR number with a record, in order.
pub fn pending_prs(state_dir: &Path) -> Result<Vec<u64>, ReviewsError> {
    let dir = dir(state_dir);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(failed(&dir, "cannot list it", &e)),
    };
    let mut prs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| failed(&dir, "cannot list it", &e))?;
        let name = entry.file_name();
        let number = name
            .to_str()
            .and_then(|n| n.strip_prefix("pr-"))
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|n| n.parse::<u64>().ok());
        prs.extend(number);
    }
    prs.sort_unstable();
    Ok(prs)
}

/// Stores `pending` atomically and durably.
pub fn save(state_dir: &Path, pending: &Pending) -> Result<(), ReviewsError> {
    let dir = dir(state_dir);
    std::fs::create_dir_all(&dir).map_err(|e| failed(&dir, "cannot create it", &e))?;
    let path = file(state_dir, pending.pr);
    let temp = dir.join(format!(".pr-{}.json.tmp", pending.pr));
    let text = serde_json::to_string_pretty(pending).map_err(|e| ReviewsError::Journal {
        path: path.clone(),
        detail: format!("cannot render it: {e}"),
    })?;
    let write = || -> std::io::Result<()> {
        let mut out = std::fs::File::create(&temp)?;
        out.write_all(text.as_bytes())?;
        out.sync_all()?;
        std::fs::rename(&temp, &path)?;
        std::fs::File::open(&dir)?.sync_all()
    };
    write().map_err(|e| failed(&path, "cannot write it", &e))
}

/// Removes PR `pr`'s record (done, or given up); no record is fine.
pub fn remove(state_dir: &Path, pr: u64) -> Result<(), ReviewsError> {
    let path = file(state_dir, pr);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(failed(&path, "cannot remove it", &e)),
    }
    let dir = dir(state_dir);
    std::fs::File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| failed(&dir, "cannot sync it", &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(pr: u64) -> Pending {
        Pending {
            pr,
            branch: "engine/t1-x".into(),
            remote: "origin".into(),
            start: "abc".into(),
            run_id: "R1".into(),
            feedback: Vec::new(),
            pushed: None,
        }
    }

    #[test]
    fn a_record_round_trips_and_goes_away() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path(), 7).unwrap(), None);
        assert!(pending_prs(dir.path()).unwrap().is_empty());
        let mut p = pending(7);
        save(dir.path(), &p).unwrap();
        p.pushed = Some("def".into());
        save(dir.path(), &p).unwrap();
        save(dir.path(), &pending(12)).unwrap();
        assert_eq!(load(dir.path(), 7).unwrap(), Some(p));
        assert_eq!(pending_prs(dir.path()).unwrap(), vec![7, 12]);
        remove(dir.path(), 7).unwrap();
        remove(dir.path(), 7).unwrap();
        assert_eq!(pending_prs(dir.path()).unwrap(), vec![12]);
    }

    #[test]
    fn a_damaged_record_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(super::dir(dir.path())).unwrap();
        std::fs::write(file(dir.path(), 3), "{not json").unwrap();
        let e = load(dir.path(), 3).unwrap_err().to_string();
        assert!(e.contains("pr-3.json"), "{e}");
        std::fs::write(
            file(dir.path(), 3),
            serde_json::to_string(&pending(4)).unwrap(),
        )
        .unwrap();
        assert!(load(dir.path(), 3).is_err());
    }
}
