//! The control socket's file: `<state>/control.sock`, owner-only, answered only for processes
//! of the same user.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use tokio::net::{UnixListener, UnixStream};

/// The control socket of state directory `state_dir`.
pub fn socket_path(state_dir: &Path) -> PathBuf {
    state_dir.join("control.sock")
}

/// Why the socket could not be served.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    /// Binding or setting its permissions failed (e.g. a path longer than a Unix socket
    /// address takes).
    #[error("cannot serve the control socket {}: {source}", path.display())]
    Bind {
        /// The socket's path.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

/// Serves the control socket of `state_dir`. Only the process holding the state directory's
/// lock calls this, so a socket file left there is stale (its holder died) and is replaced.
pub fn bind(state_dir: &Path) -> Result<UnixListener, SocketError> {
    let path = socket_path(state_dir);
    let failed = |source| SocketError::Bind {
        path: path.clone(),
        source,
    };
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(failed(e)),
    }
    let listener = UnixListener::bind(&path).map_err(failed)?;
    // Connections are also checked by user (see `same_user`): the mode keeps others from even
    // reaching it where the state directory is shared.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(failed)?;
    Ok(listener)
}

/// Connects to the holder of `state_dir`; `None` when nobody answers there (no socket file, or
/// a stale one).
pub async fn connect(state_dir: &Path) -> Option<UnixStream> {
    UnixStream::connect(socket_path(state_dir)).await.ok()
}

/// Whether the process at the other end of `stream` runs as this process's user.
pub fn same_user(stream: &UnixStream) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    stream.peer_cred().is_ok_and(|cred| cred.uid() == me)
}

/// Removes the socket file when this process stops serving it (only if it is still ours: a
/// file of the same path bound later by another holder is left alone).
pub fn remove(state_dir: &Path, bound: &std::fs::Metadata) {
    use std::os::unix::fs::MetadataExt as _;
    let path = socket_path(state_dir);
    if std::fs::symlink_metadata(&path).is_ok_and(|now| now.ino() == bound.ino()) {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_socket_is_owner_only_replaces_a_stale_file_and_answers_its_user() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(socket_path(dir.path()), "stale").unwrap();
        let listener = bind(dir.path()).unwrap();
        let mode = std::fs::metadata(socket_path(dir.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let client = connect(dir.path()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        assert!(same_user(&server));
        assert!(same_user(&client));
        let bound = std::fs::symlink_metadata(socket_path(dir.path())).unwrap();
        drop(listener);
        remove(dir.path(), &bound);
        assert!(connect(dir.path()).await.is_none());
    }

    #[tokio::test]
    async fn a_path_too_long_for_a_socket_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("d".repeat(120));
        std::fs::create_dir_all(&deep).unwrap();
        let e = bind(&deep).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("cannot serve the control socket ")
        );
    }
}
