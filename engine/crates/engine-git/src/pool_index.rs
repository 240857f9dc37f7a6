//! Engine's own copy of a pooled worktree's index, and what changed since it was saved (see
//! [`crate::pool_claim`]).
//!
//! Whenever engine has made a worktree hold its commit (a checkout, a claim), it copies the
//! worktree's index to `<pool>/<name>.index`, where no stage can write, with the index's own
//! modification time. When the directory is claimed again, that copy becomes the new index
//! (with its time, so git's own "racily clean" checks keep working) and every file whose change
//! time (`ctime`: set by the kernel on any change of content, mode, owner, times or name, and
//! never settable by a process) is not older than the copy is listed: those are the files the
//! earlier run touched, whose index entries are dropped so that git rewrites them. Every other
//! file is what engine itself left there, byte for byte.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The suffix of engine's copy of a worktree's index in the pool directory.
pub(crate) const INDEX_SUFFIX: &str = ".index";

/// `<pool>/<name of dir>.index`.
fn copy_path(pool: &Path, dir: &Path) -> Option<PathBuf> {
    let mut name = dir.file_name()?.to_os_string();
    name.push(INDEX_SUFFIX);
    Some(pool.join(name))
}

/// Copies `from` to `to` (through a synced temporary file and a rename) with `from`'s
/// modification time; returns that time.
fn copy_with_time(from: &Path, to: &Path) -> std::io::Result<SystemTime> {
    let mtime = std::fs::metadata(from)?.modified()?;
    let mut tmp = to.as_os_str().to_os_string();
    tmp.push(".engine-tmp");
    let tmp = PathBuf::from(tmp);
    let copied = std::fs::copy(from, &tmp).and_then(|_| {
        let file = std::fs::File::options().write(true).open(&tmp)?;
        file.set_modified(mtime)?;
        file.sync_all()
    });
    if let Err(e) = copied.and_then(|()| std::fs::rename(&tmp, to)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(mtime)
}

/// Saves a copy of the index `<admin>/index` of the worktree at `path`, which engine has just
/// made hold its commit, as `<pool>/<name>.index`. Best effort: without it, the next claim of
/// the directory reads every file.
pub(crate) fn save(pool: &Path, path: &Path, admin: &Path) {
    let Some(copy) = copy_path(pool, path) else {
        return;
    };
    let saved =
        std::fs::create_dir_all(pool).and_then(|()| copy_with_time(&admin.join("index"), &copy));
    if let Err(e) = saved {
        tracing::debug!("could not save the index of {}: {e}", path.display());
    }
}

/// Forgets the saved index of the worktree directory at `path` (removed, not parked).
pub(crate) fn forget(pool: &Path, path: &Path) {
    if let Some(copy) = copy_path(pool, path) {
        let _ = std::fs::remove_file(copy);
    }
}

/// Installs the saved index of the idle directory `idle` (now moved to `path`) as `index`,
/// and lists the files under `path` changed since it was saved (relative paths). `None` when
/// there is no saved index or it cannot be used: the caller then compares every file. The
/// saved copy is used up either way.
pub(crate) fn install_saved(idle: &Path, path: &Path, index: &Path) -> Option<Vec<PathBuf>> {
    let saved = copy_path(idle.parent()?, idle)?;
    if !saved.is_file() {
        return None;
    }
    let installed = copy_with_time(&saved, index);
    let _ = std::fs::remove_file(&saved);
    let since = installed.ok()?.duration_since(UNIX_EPOCH).ok()?;
    let mut touched = Vec::new();
    let since = (
        i64::try_from(since.as_secs()).ok()?,
        i64::from(since.subsec_nanos()),
    );
    changed_since(path, Path::new(""), since, &mut touched).ok()?;
    Some(touched)
}

/// Adds to `out` every file and symbolic link under `root/rel` (not following links, skipping
/// `.git`) whose change time is at or after `since` (seconds, nanoseconds).
fn changed_since(
    root: &Path,
    rel: &Path,
    since: (i64, i64),
    out: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(root.join(rel))? {
        let entry = entry?;
        if entry.file_name() == ".git" {
            continue;
        }
        let meta = entry.metadata()?;
        let child = rel.join(entry.file_name());
        if meta.is_dir() {
            changed_since(root, &child, since, out)?;
        } else if (meta.ctime(), meta.ctime_nsec()) >= since {
            out.push(child);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_changed_after_the_copy_are_listed_and_only_they() {
        let dir = tempfile::tempdir().unwrap();
        let pool = dir.path().join("pool");
        let admin = dir.path().join("admin");
        let idle = pool.join("R1");
        std::fs::create_dir_all(idle.join("src/deep")).unwrap();
        std::fs::create_dir_all(idle.join(".git")).unwrap();
        std::fs::create_dir_all(&admin).unwrap();
        for file in ["a", "src/b", "src/deep/c", ".git/x"] {
            std::fs::write(idle.join(file), "old").unwrap();
        }
        std::fs::write(admin.join("index"), "INDEX").unwrap();
        let old = SystemTime::now() - std::time::Duration::from_mins(1);
        std::fs::File::options()
            .write(true)
            .open(admin.join("index"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        save(&pool, &idle, &admin);
        let copy = pool.join("R1.index");
        assert_eq!(std::fs::read(&copy).unwrap(), b"INDEX");
        assert_eq!(std::fs::metadata(&copy).unwrap().modified().unwrap(), old);
        // Everything was written after the (back-dated) copy: every file but `.git`'s.
        let index = dir.path().join("new-index");
        let mut touched = install_saved(&idle, &idle, &index).unwrap();
        touched.sort();
        assert_eq!(
            touched,
            [Path::new("a"), Path::new("src/b"), Path::new("src/deep/c")]
        );
        assert_eq!(std::fs::metadata(&index).unwrap().modified().unwrap(), old);
        assert!(!copy.exists(), "used up");
        assert_eq!(install_saved(&idle, &idle, &index), None);
        // A copy saved now: nothing changed since.
        std::fs::File::options()
            .write(true)
            .open(admin.join("index"))
            .unwrap()
            .set_modified(SystemTime::now() + std::time::Duration::from_mins(1))
            .unwrap();
        save(&pool, &idle, &admin);
        assert_eq!(install_saved(&idle, &idle, &index), Some(Vec::new()));
        forget(&pool, &idle);
    }
}
