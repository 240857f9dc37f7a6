//! Reading a file as committed: the constitution and skill files come from the run's base
//! commit, never from the worktree a stage can write. Only the repository's object store and
//! refs are read, through engine-git's controlled git command ([`engine_git::blob`]).

use std::path::Path;

use engine_git::GitError;
use engine_git::blob::{self, FileAt};

use super::SpecError;

/// The text of `path` at `commit`, `None` when the commit has no such file. A file over
/// `max_bytes`, something other than a regular file, or text that is not UTF-8 is an error
/// naming the path. A leading byte-order mark is dropped.
pub(crate) fn read_at(
    root: &Path,
    commit: &str,
    path: &str,
    max_bytes: u64,
) -> Result<Option<String>, SpecError> {
    let bytes = match blob::file_at(root, commit, path, max_bytes).map_err(|e| git_error(&e))? {
        FileAt::Missing => return Ok(None),
        FileAt::NotAFile => {
            return Err(SpecError::NotAFile {
                path: path.to_string(),
            });
        }
        FileAt::TooLarge(size) => {
            return Err(SpecError::TooLarge {
                path: path.to_string(),
                size,
                max: max_bytes,
            });
        }
        FileAt::Bytes(bytes) => bytes,
    };
    let text = String::from_utf8(bytes).map_err(|e| SpecError::NotUtf8 {
        path: path.to_string(),
        offset: e.utf8_error().valid_up_to(),
    })?;
    Ok(Some(
        text.strip_prefix('\u{feff}').unwrap_or(&text).to_string(),
    ))
}

/// The files `branch` changed since `base`, relative to the repository root.
pub(crate) fn changed_files(
    root: &Path,
    base: &str,
    branch: &str,
) -> Result<Vec<String>, SpecError> {
    blob::changed_files(root, base, branch).map_err(|e| git_error(&e))
}

/// A git failure as the (cloneable) [`SpecError::Git`].
fn git_error(e: &GitError) -> SpecError {
    let (command, message) = match e {
        GitError::Failed {
            command, stderr, ..
        } => (command.clone(), stderr.clone()),
        GitError::Spawn { command, source } => (command.clone(), source.to_string()),
        GitError::UnexpectedOutput { command, detail } => (command.clone(), detail.clone()),
        _ => ("git".to_string(), e.to_string()),
    };
    SpecError::Git { command, message }
}
