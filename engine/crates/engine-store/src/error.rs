//! The errors storage operations report.

use std::path::PathBuf;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No run has this id (or no run id starts with this prefix).
    #[error("no run matches `{0}`")]
    NotFound(String),
    /// `create_run` for an id that is already stored.
    #[error("run {0} already exists")]
    AlreadyExists(String),
    /// A run id prefix matches more than one run.
    #[error("run id prefix `{prefix}` is ambiguous; it matches {}", matches.join(", "))]
    Ambiguous {
        /// The prefix given.
        prefix: String,
        /// Every run id it matches, newest first.
        matches: Vec<String>,
    },
    /// The state to commit does not directly follow the stored one (exactly-once defence).
    #[error(
        "run {run_id}: refusing to commit seq {got}; the stored snapshot is at seq {stored}, \
         so the next event must be seq {}", stored + 1
    )]
    SeqConflict {
        /// The run.
        run_id: String,
        /// The stored snapshot's seq.
        stored: u64,
        /// The seq of the state that was offered.
        got: u64,
    },
    /// The state or meta offered belongs to another run than the one named.
    #[error("run {run_id}: the record offered belongs to run {record_run_id}")]
    WrongRun {
        /// The run named in the call.
        run_id: String,
        /// The run id inside the record.
        record_run_id: String,
    },
    /// A run id that cannot be stored (empty, too long, or not `[A-Za-z0-9_-]`).
    #[error("invalid run id `{0}`: use 1 to 128 ASCII letters, digits, `-` or `_`")]
    InvalidRunId(String),
    /// A stored record cannot be decoded.
    #[error("corrupt record of run {run_id} at key {key}: {detail}")]
    Corrupt {
        /// The run the record belongs to.
        run_id: String,
        /// The record's key, e.g. `events/<run>/<seq>` or `snapshots/<run>`.
        key: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A record could not be encoded as JSON.
    #[error("encoding the {what} of run {run_id}: {source}")]
    Encode {
        /// The run.
        run_id: String,
        /// What was being encoded (`event`, `state`, `meta`).
        what: &'static str,
        /// The serializer's error.
        #[source]
        source: serde_json::Error,
    },
    /// The embedded database failed.
    #[error("database error while {op}: {source}")]
    Sled {
        /// What was being done.
        op: &'static str,
        /// sled's error.
        #[source]
        source: sled::Error,
    },
    /// A file operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done (`creating`, `reading`...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// A run's read-only mirror (`<state>/mirror/<run>.json`) cannot be decoded, e.g. a write cut
    /// short by a power loss. The store itself is not affected.
    #[error(
        "unreadable run mirror {}: {detail}; it is rewritten at the run's next transition \
         and whenever a process opens the state directory", path.display()
    )]
    CorruptMirror {
        /// The mirror file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// Another process holds the state directory's lock.
    #[error("{}", busy_message(*pid, holder, dir))]
    Busy {
        /// The holder's process id (0 if it could not be read).
        pid: u32,
        /// What the holder said it is doing, e.g. `engine run workflow.yaml`.
        holder: String,
        /// The state directory.
        dir: PathBuf,
    },
}

/// The message of [`StoreError::Busy`].
fn busy_message(pid: u32, holder: &str, dir: &std::path::Path) -> String {
    let who = if pid == 0 {
        "another process".to_string()
    } else {
        format!("process {pid}")
    };
    let what = if holder.is_empty() {
        String::new()
    } else {
        format!(" ({holder})")
    };
    format!(
        "state directory {} is in use by {who}{what}; wait for it to finish or stop it",
        dir.display()
    )
}

impl StoreError {
    /// An I/O error on `path`.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// A sled error during `op`.
    pub(crate) fn sled(op: &'static str) -> impl FnOnce(sled::Error) -> StoreError {
        move |source| StoreError::Sled { op, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_names_the_holder() {
        let err = StoreError::Busy {
            pid: 4242,
            holder: "engine run ci.yaml".into(),
            dir: PathBuf::from("/repo/.engine"),
        };
        assert_eq!(
            err.to_string(),
            "state directory /repo/.engine is in use by process 4242 (engine run ci.yaml); \
             wait for it to finish or stop it"
        );
        let err = StoreError::Busy {
            pid: 0,
            holder: String::new(),
            dir: PathBuf::from("/s"),
        };
        assert!(err.to_string().contains("in use by another process;"));
    }

    #[test]
    fn seq_conflict_says_what_was_expected() {
        let err = StoreError::SeqConflict {
            run_id: "r".into(),
            stored: 4,
            got: 4,
        };
        assert!(err.to_string().contains("must be seq 5"), "{err}");
    }
}
