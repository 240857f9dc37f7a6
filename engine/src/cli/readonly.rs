//! How the read-only commands (`runs`, `show`) reach the runs: through the store when they can
//! take the state directory's lock, else through the JSON mirrors the process holding it keeps
//! (`<state>/mirror/`, see [`engine_store::read_mirrors`]), so they keep working while a run is
//! in progress.

use std::path::{Path, PathBuf};

use engine_store::{StateDir, StoreError, mirror_dir};

use crate::EngineError;

/// Where a read-only command reads runs from.
pub(super) enum RunSource {
    /// The store: this process holds the state directory (released on drop).
    Store(StateDir),
    /// Another process holds the state directory: read its mirrors in this state directory.
    Mirrors(PathBuf),
}

/// Opens state directory `dir` for reading on behalf of `holder` (e.g. `engine runs`). When
/// another process holds it, says so on stderr in one line and falls back to the mirrors.
pub(super) fn open(dir: &Path, holder: &str) -> Result<RunSource, EngineError> {
    match StateDir::open_locked(dir, holder) {
        Ok(state_dir) => Ok(RunSource::Store(state_dir)),
        Err(StoreError::Busy { pid, holder, dir }) => {
            eprintln!("{}", mirror_note(pid, &holder, &dir));
            Ok(RunSource::Mirrors(dir))
        }
        Err(e) => Err(e.into()),
    }
}

/// Which runs the process holding state directory `dir` drives: it says so over its control
/// socket; one that does not answer may drive any run.
pub(super) fn drivers(dir: &Path) -> crate::history::Drivers {
    match crate::control::client::ask_driving(dir) {
        Some(runs) => crate::history::Drivers::These(runs),
        None => crate::history::Drivers::Unknown,
    }
}

/// Reports mirrors that could not be read (they are left out of what is shown).
pub(super) fn warn_unreadable(problems: &[StoreError]) {
    for problem in problems {
        eprintln!("warning: {problem}");
    }
}

/// The note printed when reading from the mirrors.
fn mirror_note(pid: u32, holder: &str, dir: &Path) -> String {
    // Holders describe themselves as e.g. `engine run wf.yaml (pid 42)`; say the pid once.
    let pid_suffix = format!(" (pid {pid})");
    let holder = holder.strip_suffix(&pid_suffix).unwrap_or(holder);
    let who = match (pid, holder.is_empty()) {
        (0, _) => "another process".to_string(),
        (pid, true) => format!("process {pid}"),
        (pid, false) => format!("process {pid} ({holder})"),
    };
    format!(
        "note: {who} holds the state directory; showing the live run's mirror in {} \
         (updated at every transition)",
        mirror_dir(dir).display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_names_the_holder_and_the_mirror() {
        assert_eq!(
            mirror_note(42, "engine run ci.yaml", Path::new("/r/.engine")),
            "note: process 42 (engine run ci.yaml) holds the state directory; showing the live \
             run's mirror in /r/.engine/mirror (updated at every transition)"
        );
        assert!(
            mirror_note(42, "engine run ci.yaml (pid 42)", Path::new("/s"))
                .starts_with("note: process 42 (engine run ci.yaml) holds")
        );
        assert!(mirror_note(0, "", Path::new("/s")).starts_with("note: another process holds"));
        assert!(mirror_note(7, "", Path::new("/s")).starts_with("note: process 7 holds"));
    }
}
