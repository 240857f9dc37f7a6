//! Keeping the compiled-component cache from growing without bound.
//!
//! An entry's key includes the engine's compatibility hash and the cache format, so every new
//! wasmtime, changed setting or format leaves the old entries behind for good, and a write killed
//! halfway leaves its temp file. Entries in use are kept fresh: a load refreshes the modification
//! time of an entry last refreshed more than [`REFRESH_AFTER`] ago. After the first compile of a
//! process (the slow path, rare), the cache directory is swept: entries not refreshed for [`ENTRY_MAX_AGE`] and temp
//! files older than [`TEMP_MAX_AGE`] are removed. Only files named the way the cache names them
//! are touched. Removing an entry another process has mapped is harmless (the mapping keeps the
//! file's pages); one about to be opened is simply compiled again.

use std::path::Path;
use std::time::{Duration, SystemTime};

/// An entry not loaded for this long is removed by the next sweep.
pub(crate) const ENTRY_MAX_AGE: Duration = Duration::from_hours(30 * 24);

/// A temp file of a write older than this was left by a process that died while writing.
pub(crate) const TEMP_MAX_AGE: Duration = Duration::from_hours(1);

/// A load refreshes an entry's modification time when it is older than this (one metadata write
/// a day per entry at most).
pub(crate) const REFRESH_AFTER: Duration = Duration::from_hours(24);

/// What a file in the cache directory is, by its name.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    /// `<64 hex digits>.cwasm`.
    Entry,
    /// `<64 hex digits>.tmp.<pid>.<n>`: an entry being written.
    Temp,
}

fn kind(name: &str) -> Option<Kind> {
    let (key, rest) = name.split_at_checked(64)?;
    if !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    if rest == ".cwasm" {
        return Some(Kind::Entry);
    }
    let numbers = rest.strip_prefix(".tmp.")?;
    let (pid, n) = numbers.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(pid) && digits(n)).then_some(Kind::Temp)
}

/// Removes from `dir` the entries last refreshed more than [`ENTRY_MAX_AGE`] before `now` and
/// the temp files older than [`TEMP_MAX_AGE`]; returns how many files it removed. A file that
/// cannot be read or removed is left alone.
pub(crate) fn sweep(dir: &Path, now: SystemTime) -> usize {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in listing.flatten() {
        let name = entry.file_name();
        let Some(kind) = name.to_str().and_then(kind) else {
            continue;
        };
        let max_age = match kind {
            Kind::Entry => ENTRY_MAX_AGE,
            Kind::Temp => TEMP_MAX_AGE,
        };
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        let old = metadata.is_file()
            && metadata
                .modified()
                .ok()
                .and_then(|modified| now.duration_since(modified).ok())
                .is_some_and(|age| age > max_age);
        if old && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Marks the entry open as `file` as in use at `now`, when its mark is older than
/// [`REFRESH_AFTER`] (best effort: a read-only cache just ages).
pub(crate) fn refresh(file: &std::fs::File, now: SystemTime) {
    let stale = file
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|modified| now.duration_since(modified).ok())
        .is_some_and(|age| age > REFRESH_AFTER);
    if stale {
        let _ = file.set_modified(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn file(dir: &Path, name: &str, age: Duration, now: SystemTime) -> std::path::PathBuf {
        let path = dir.join(name);
        let f = std::fs::File::create(&path).unwrap();
        f.set_modified(now - age).unwrap();
        path
    }

    #[test]
    fn names_of_the_cache_are_told_from_anything_else() {
        assert_eq!(kind(&format!("{KEY}.cwasm")), Some(Kind::Entry));
        assert_eq!(kind(&format!("{KEY}.tmp.4242.0")), Some(Kind::Temp));
        for other in [
            "notes.txt".to_string(),
            format!("{KEY}.cwasm.bak"),
            format!("{KEY}.tmp.x.0"),
            format!("{KEY}.tmp.12"),
            format!("{}.cwasm", &KEY[1..]),
            format!("{}g.cwasm", &KEY[1..]),
            KEY.to_string(),
        ] {
            assert_eq!(kind(&other), None, "{other}");
        }
    }

    #[test]
    fn a_sweep_removes_stale_entries_and_dead_writes_only() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        let day = Duration::from_hours(24);
        let stale = file(dir.path(), &format!("{KEY}.cwasm"), 31 * day, now);
        let fresh_key = KEY.replace('0', "1");
        let fresh = file(dir.path(), &format!("{fresh_key}.cwasm"), 29 * day, now);
        let dead = file(
            dir.path(),
            &format!("{KEY}.tmp.7.0"),
            Duration::from_hours(2),
            now,
        );
        let writing = file(
            dir.path(),
            &format!("{KEY}.tmp.8.0"),
            Duration::from_secs(5),
            now,
        );
        let foreign = file(dir.path(), "notes.txt", 400 * day, now);
        std::fs::create_dir(dir.path().join(format!("{}.cwasm", KEY.replace('0', "2")))).unwrap();

        assert_eq!(sweep(dir.path(), now), 2);
        assert!(!stale.exists() && !dead.exists());
        assert!(fresh.exists() && writing.exists() && foreign.exists());
        assert_eq!(sweep(dir.path(), now), 0, "nothing more to remove");
        assert_eq!(sweep(&dir.path().join("missing"), now), 0);
    }

    #[test]
    fn a_load_refreshes_an_entry_marked_more_than_a_day_ago() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        let modified = |path: &Path| std::fs::metadata(path).unwrap().modified().unwrap();
        let old = file(dir.path(), "old", Duration::from_hours(72), now);
        refresh(&std::fs::File::open(&old).unwrap(), now);
        let age = now.duration_since(modified(&old)).unwrap_or_default();
        assert!(age < Duration::from_secs(1), "refreshed: {age:?} old");
        let recent = file(dir.path(), "recent", Duration::from_hours(2), now);
        let before = modified(&recent);
        refresh(&std::fs::File::open(&recent).unwrap(), now);
        assert_eq!(modified(&recent), before, "refreshed at most once a day");
    }
}
