//! Whether this machine can confine processes: bubblewrap (`$ENGINE_BWRAP`, else `bwrap` on the
//! PATH or in the system directories) and prlimit present, and a trial sandbox (user, PID and
//! network namespaces) starts. Checked once per engine process.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The host programs confinement uses.
#[derive(Debug, Clone)]
pub(crate) struct Tools {
    /// bubblewrap.
    pub(crate) bwrap: PathBuf,
    /// util-linux `prlimit`, which sets the per-process limits inside the sandbox.
    pub(crate) prlimit: PathBuf,
}

/// The tools, or why confinement is unavailable (cached for the life of the process).
pub(crate) fn tools() -> Result<&'static Tools, String> {
    static TOOLS: OnceLock<Result<Tools, String>> = OnceLock::new();
    TOOLS.get_or_init(probe).as_ref().map_err(Clone::clone)
}

fn probe() -> Result<Tools, String> {
    if !cfg!(target_os = "linux") {
        return Err("confinement needs Linux namespaces (this is not Linux)".into());
    }
    let bwrap = match std::env::var_os("ENGINE_BWRAP") {
        Some(path) if is_executable(Path::new(&path)) => PathBuf::from(path),
        Some(path) => {
            return Err(format!(
                "ENGINE_BWRAP={} is not an executable file",
                Path::new(&path).display()
            ));
        }
        None => find("bwrap").ok_or("bubblewrap (`bwrap`) is not installed")?,
    };
    let prlimit = find("prlimit").ok_or("util-linux `prlimit` is not installed")?;
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
        .map_err(|e| format!("{} cannot start: {e}", bwrap.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "a trial sandbox failed ({}): {} (are unprivileged user namespaces disabled? see \
             docs/security.md)",
            output.status,
            stderr.trim()
        ));
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
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}
