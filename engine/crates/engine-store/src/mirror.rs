//! JSON mirrors of runs, for readers that cannot take the state directory's lock.
//!
//! sled lets one process open a database, so while `engine run` holds the state directory no
//! other process can read the store. The holder therefore keeps, next to the database, a JSON
//! copy of every run in `<dir>/mirror/`: the run's meta, latest snapshot and events, rewritten
//! after every committed transition ([`crate::SledStore::mirror_to`]). [`read_mirrors`] and
//! [`read_mirror`] read them without any lock.
//!
//! Each version of a run's mirror is a new file, `<run_id>.<version>.json`, written under a
//! temporary name in the same directory and renamed into place; then the previous version is
//! removed. A reader takes the highest version of each run, so it sees a whole file, never a
//! mix (a version removed between listing and reading is looked up again). New names rather
//! than a rename over the old file: on ext4 (`auto_da_alloc`) replacing a file by rename starts
//! writing the new data to disk at once, which made every commit ~0.2 to 1 ms slower, while a
//! fresh file that is superseded within seconds is usually never written to disk at all.
//!
//! The mirror is a copy, not a second source of truth: it is written without fsync (sled's
//! commit is the durable part), so after a power loss a mirror may lag or be unreadable until
//! the next process takes the lock, which brings every mirror up to date
//! ([`crate::StateDir::open_locked`]; without rereading every run and mirror when nothing can be
//! behind: see [`crate::mirror_refresh`]).
//!
//! File format (one JSON object): `{"format":1,"seq":N,"meta":{..},"state":{..},"events":[
//! {"seq":1,"event":{..}},..]}`, where `seq` is that of the last event (0 before the first). The
//! header comes first so a reader can refuse another format, and the writer can tell a stale
//! mirror from the first bytes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use engine_core::{Event, RunState};
use serde::Deserialize;

use crate::keys::{resolve_among, validate_run_id};
use crate::{RunMeta, RunRecord, StoreError};

/// The mirror directory's name inside the state directory.
const MIRROR_DIR: &str = "mirror";

/// The mirror format this build writes and reads.
pub(crate) const FORMAT: u32 = 1;

/// How often a reader looks a run's mirror up again when the version it listed was replaced
/// before it could open it.
const READ_ATTEMPTS: usize = 8;

/// The mirror directory of state directory `state_dir` (`<state_dir>/mirror`).
pub fn mirror_dir(state_dir: &Path) -> PathBuf {
    state_dir.join(MIRROR_DIR)
}

/// A run as read from its mirror: fixed facts, snapshot and event log.
#[derive(Debug, Clone, PartialEq)]
pub struct MirroredRun {
    /// The run's facts and latest snapshot.
    pub record: RunRecord,
    /// The run's events with their seq numbers, in order.
    pub events: Vec<(u64, Event)>,
}

/// Every readable mirror of a state directory, and what was wrong with the others.
#[derive(Debug, Default)]
pub struct MirrorListing {
    /// The runs, newest first (run ids are ULIDs: reverse lexicographic order).
    pub runs: Vec<RunRecord>,
    /// One [`StoreError::CorruptMirror`] (or I/O error) per mirror that could not be read; those
    /// runs are left out of `runs`.
    pub problems: Vec<StoreError>,
}

/// Reads every run mirrored in state directory `state_dir` without taking its lock. Files that
/// are not mirrors (temporary files, other names) are ignored; an unreadable mirror is reported
/// in [`MirrorListing::problems`] and left out. No mirror directory: an empty listing.
pub fn read_mirrors(state_dir: &Path) -> Result<MirrorListing, StoreError> {
    let dir = mirror_dir(state_dir);
    let mut listing = MirrorListing::default();
    for (run_id, versions) in scan(&dir)?.into_iter().rev() {
        let Some(&version) = versions.last() else {
            continue;
        };
        match read_current::<MirrorHead>(&dir, &run_id, version) {
            Ok(Some(head)) => listing.runs.push(RunRecord {
                meta: head.meta,
                state: head.state,
            }),
            // Removed since it was listed (only a lock holder removes mirrors).
            Ok(None) => {}
            Err(e) => listing.problems.push(e),
        }
    }
    Ok(listing)
}

/// Reads the mirror of the one run whose id starts with `prefix` (an exact match wins), without
/// taking the state directory's lock. Fails like [`crate::Store::resolve_id`] with
/// [`StoreError::NotFound`] or [`StoreError::Ambiguous`], and with
/// [`StoreError::CorruptMirror`] if that run's mirror cannot be read.
pub fn read_mirror(state_dir: &Path, prefix: &str) -> Result<MirroredRun, StoreError> {
    let dir = mirror_dir(state_dir);
    let mut files = if prefix.is_empty() {
        BTreeMap::new()
    } else {
        scan(&dir)?
    };
    files.retain(|id, _| id.starts_with(prefix));
    let run_id = resolve_among(prefix, files.keys().cloned().collect())?;
    let version = files
        .get(&run_id)
        .and_then(|versions| versions.last().copied())
        .unwrap_or_default();
    let file: MirrorFile = read_current(&dir, &run_id, version)?
        .ok_or_else(|| StoreError::NotFound(prefix.to_string()))?;
    Ok(MirroredRun {
        record: RunRecord {
            meta: file.meta,
            state: file.state,
        },
        events: file.events.into_iter().map(|e| (e.seq, e.event)).collect(),
    })
}

/// The mirror files in `dir`: each run id with the versions found, lowest first. No directory:
/// none.
pub(crate) fn scan(dir: &Path) -> Result<BTreeMap<String, Vec<u64>>, StoreError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(StoreError::io("listing", dir, e)),
    };
    let mut files: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io("listing", dir, e))?;
        let name = entry.file_name();
        if let Some((run_id, version)) = name.to_str().and_then(parse_name) {
            files.entry(run_id.to_string()).or_default().push(version);
        }
    }
    for versions in files.values_mut() {
        versions.sort_unstable();
    }
    Ok(files)
}

/// `<run_id>.<version>.json` → `(run_id, version)`; `None` for any other name.
pub(crate) fn parse_name(name: &str) -> Option<(&str, u64)> {
    let (run_id, version) = name.strip_suffix(".json")?.split_once('.')?;
    if validate_run_id(run_id).is_err() || !version.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((run_id, version.parse().ok()?))
}

/// `<dir>/<run_id>.<version>.json`.
pub(crate) fn mirror_path(dir: &Path, run_id: &str, version: u64) -> PathBuf {
    dir.join(format!("{run_id}.{version}.json"))
}

/// What every mirror file starts with, up to the seq digits.
pub(crate) fn head() -> String {
    format!("{{\"format\":{FORMAT},\"seq\":")
}

/// The seq in the first bytes of a mirror of this format, if they hold one.
pub(crate) fn seq_in_head(start: &[u8]) -> Option<u64> {
    let rest = start.strip_prefix(head().as_bytes())?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if rest.get(digits) != Some(&b',') {
        return None;
    }
    std::str::from_utf8(rest.get(..digits)?).ok()?.parse().ok()
}

/// The parts of a mirror a listing needs (the events are skipped, not decoded).
#[derive(Deserialize)]
struct MirrorHead {
    meta: RunMeta,
    state: RunState,
}

/// A whole mirror file.
#[derive(Deserialize)]
struct MirrorFile {
    meta: RunMeta,
    state: RunState,
    events: Vec<MirrorEvent>,
}

/// One entry of a mirror's `events`.
#[derive(Deserialize)]
struct MirrorEvent {
    seq: u64,
    event: Event,
}

/// What the checks of a decoded mirror look at.
trait Checked {
    /// The run ids in its meta and its state.
    fn run_ids(&self) -> (&str, &str);
}

impl Checked for MirrorHead {
    fn run_ids(&self) -> (&str, &str) {
        (&self.meta.run_id, &self.state.run_id)
    }
}

impl Checked for MirrorFile {
    fn run_ids(&self) -> (&str, &str) {
        (&self.meta.run_id, &self.state.run_id)
    }
}

/// Reads the current mirror of `run_id`, listed at `version`; if that version has been
/// replaced in the meantime, the newer one. `None` if the run has no mirror any more.
fn read_current<T: serde::de::DeserializeOwned + Checked>(
    dir: &Path,
    run_id: &str,
    mut version: u64,
) -> Result<Option<T>, StoreError> {
    for _ in 0..READ_ATTEMPTS {
        if let Some(file) = read_file(&mirror_path(dir, run_id, version), run_id)? {
            return Ok(Some(file));
        }
        match scan(dir)?.get(run_id).and_then(|v| v.last().copied()) {
            Some(newer) if newer != version => version = newer,
            _ => return Ok(None),
        }
    }
    Ok(None)
}

/// Reads and checks the mirror file `path` of `run_id`; `None` if it does not exist.
fn read_file<T: serde::de::DeserializeOwned + Checked>(
    path: &Path,
    run_id: &str,
) -> Result<Option<T>, StoreError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io("reading", path, e)),
    };
    let corrupt = |detail: String| StoreError::CorruptMirror {
        path: path.to_path_buf(),
        detail,
    };
    // The format is checked first so a newer engine's file gets a clear message.
    if let Some(format) = format_of(&bytes).filter(|f| *f != FORMAT) {
        return Err(corrupt(format!(
            "mirror format {format}; this engine reads format {FORMAT}"
        )));
    }
    let file: T = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    let (meta_run, state_run) = file.run_ids();
    if meta_run != run_id || state_run != run_id {
        return Err(corrupt(format!(
            "the file of run {run_id} holds run {meta_run} (state of {state_run})"
        )));
    }
    Ok(Some(file))
}

/// The `format` of a mirror, if its start can be decoded that far.
fn format_of(bytes: &[u8]) -> Option<u32> {
    let rest = bytes.strip_prefix(b"{\"format\":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(rest.get(..digits)?).ok()?.parse().ok()
}

/// Composes a mirror from the stored JSON of a run's meta, snapshot and events (valid JSON
/// each, as the store wrote them), without decoding them.
pub(crate) fn compose(
    seq: u64,
    meta: &[u8],
    state: &[u8],
    events: &[(u64, sled::IVec)],
) -> Vec<u8> {
    let events_len: usize = events.iter().map(|(_, e)| e.len() + 32).sum();
    let mut out = Vec::with_capacity(meta.len() + state.len() + events_len + 64);
    out.extend_from_slice(head().as_bytes());
    out.extend_from_slice(seq.to_string().as_bytes());
    out.extend_from_slice(b",\"meta\":");
    out.extend_from_slice(meta);
    out.extend_from_slice(b",\"state\":");
    out.extend_from_slice(state);
    out.extend_from_slice(b",\"events\":[");
    for (i, (event_seq, event)) in events.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(format!("{{\"seq\":{event_seq},\"event\":").as_bytes());
        out.extend_from_slice(event);
        out.push(b'}');
    }
    out.extend_from_slice(b"]}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_heads_parse() {
        assert_eq!(parse_name("01A.7.json"), Some(("01A", 7)));
        for bad in [
            "01A.json",
            "01A.x.json",
            "01A.7.json.tmp",
            ".01A.1.2.tmp",
            "a b.1.json",
        ] {
            assert_eq!(parse_name(bad), None, "{bad}");
        }
        assert_eq!(seq_in_head(b"{\"format\":1,\"seq\":42,\"meta\":"), Some(42));
        assert_eq!(seq_in_head(b"{\"format\":1,\"seq\":4"), None, "cut short");
        assert_eq!(seq_in_head(b"{\"format\":2,\"seq\":4,"), None);
        assert_eq!(format_of(b"{\"format\":12,"), Some(12));
    }
}
