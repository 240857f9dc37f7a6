//! Whether this machine can confine processes: bubblewrap (`$ENGINE_BWRAP`, else `bwrap` on the
//! PATH or in the system directories) and prlimit present, and a trial sandbox (user, PID and
//! network namespaces) starts. Checked once per engine process.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};

use crate::error::ProbeFailure;

/// The host programs confinement uses.
#[derive(Debug, Clone)]
pub(crate) struct Tools {
    /// bubblewrap.
    pub(crate) bwrap: PathBuf,
    /// util-linux `prlimit`, which sets the per-process limits inside the sandbox.
    pub(crate) prlimit: PathBuf,
}

/// The tools, or why confinement is unavailable (cached for the life of the process).
pub(crate) fn tools() -> Result<&'static Tools, ProbeFailure> {
    static TOOLS: OnceLock<Result<Tools, ProbeFailure>> = OnceLock::new();
    TOOLS.get_or_init(probe).as_ref().map_err(Clone::clone)
}

fn probe() -> Result<Tools, ProbeFailure> {
    if !cfg!(target_os = "linux") {
        return Err(ProbeFailure::NotLinux);
    }
    let bwrap = match std::env::var_os("ENGINE_BWRAP") {
        Some(path) if is_executable(Path::new(&path)) => PathBuf::from(path),
        Some(path) => return Err(ProbeFailure::BwrapNotExecutable(PathBuf::from(path))),
        None => find("bwrap").ok_or(ProbeFailure::NoBwrap)?,
    };
    let prlimit = find("prlimit").ok_or(ProbeFailure::NoPrlimit)?;
    let output = Command::new(&bwrap)
        .args([
            "--unshare-user",
            "--unshare-pid",
            "--unshare-net",
            "--die-with-parent",
            "--cap-drop",
            "ALL",
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--",
        ])
        .arg(&prlimit)
        .args(["--nproc=64", "--", "true"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| ProbeFailure::BwrapCannotStart {
            bwrap: bwrap.clone(),
            source: Arc::new(e),
        })?;
    if !output.status.success() {
        return Err(ProbeFailure::TrialFailed {
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(Tools { bwrap, prlimit })
}

/// `name` on the engine's PATH, then in the usual system directories.
fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .chain(["/usr/bin", "/bin", "/usr/local/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// A regular file with an execute bit.
pub(crate) fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
