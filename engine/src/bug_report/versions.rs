//! The versions a bug report records: engine's own, the wasmtime it links, the operating system and kernel, and the
//! programs runs use (git, bubblewrap, the agent CLIs found on `PATH`), each asked with
//! `--version` under a time limit.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a program may take to print its version.
pub const VERSION_TIMEOUT: Duration = Duration::from_secs(5);

/// The most of a program's `--version` output kept.
const MAX_VERSION_BYTES: usize = 4096;

/// The agent CLIs of the built-in backends: (backend, program).
pub const AGENT_PROGRAMS: &[(&str, &str)] = &[
    ("claude", "claude"),
    ("codex", "codex"),
    ("gemini", "gemini"),
    ("opencode", "opencode"),
    ("aider", "aider"),
    ("cursor", "cursor-agent"),
];

/// `versions.txt`: one `name: version` line each (a program not found says so). `extra` are
/// further programs to ask (the workflow's own agent commands): (label, program).
pub fn versions_text(extra: &[(String, String)]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "engine: {}", env!("CARGO_PKG_VERSION"));
    // The wasmtime version comes from Cargo.lock (engine/build.rs). No commit id is embedded:
    // it would rebuild the engine crate on every commit.
    let _ = writeln!(out, "wasmtime: {}", env!("ENGINE_WASMTIME_VERSION"));
    let _ = writeln!(
        out,
        "target: {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    let _ = writeln!(out, "os: {}", os_name());
    let _ = writeln!(out, "kernel: {}", kernel());
    let mut programs: Vec<(String, String)> = vec![
        ("git".into(), "git".into()),
        ("bwrap".into(), "bwrap".into()),
    ];
    programs.extend(
        AGENT_PROGRAMS
            .iter()
            .map(|(backend, program)| (format!("agent {backend}"), (*program).to_string())),
    );
    programs.extend(extra.iter().cloned());
    // Asked at once: a slow CLI (a Node one takes a second) does not hold the others up.
    let answers: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = programs
            .iter()
            .map(|(_, program)| scope.spawn(move || version_of(program)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| "could not be asked".into()))
            .collect()
    });
    for ((label, program), answer) in programs.iter().zip(answers) {
        let _ = writeln!(out, "{label} ({program}): {answer}");
    }
    out
}

/// `PRETTY_NAME` of `/etc/os-release`, else `unknown`.
fn os_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|line| {
                line.strip_prefix("PRETTY_NAME=")
                    .map(|v| v.trim_matches('"').to_string())
            })
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The kernel's name, release and version (`/proc/sys/kernel/*`), else `unknown`.
fn kernel() -> String {
    let read = |name: &str| {
        std::fs::read_to_string(Path::new("/proc/sys/kernel").join(name))
            .ok()
            .map(|s| s.trim().to_string())
    };
    match (read("ostype"), read("osrelease"), read("version")) {
        (Some(kind), Some(release), Some(version)) => format!("{kind} {release} {version}"),
        (Some(kind), Some(release), None) => format!("{kind} {release}"),
        _ => "unknown".into(),
    }
}

/// Where `program` is: itself when it holds a `/` (absolute, executable), else the first
/// executable of that name in an absolute `PATH` entry.
pub fn find_program(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |path: &Path| {
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let path = Path::new(program);
        return (path.is_absolute() && executable(path)).then(|| path.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(program))
        .find(|candidate| executable(candidate))
}

/// The first non-empty line `program --version` prints (stdout, else stderr), or why there is
/// none: not found, failed to start, timed out.
pub fn version_of(program: &str) -> String {
    let Some(path) = find_program(program) else {
        return "not found on PATH".into();
    };
    let child = Command::new(&path)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => return format!("{} cannot be started: {e}", path.display()),
    };
    let readers = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .map(|pipe| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(pipe) = pipe {
                let _ = pipe.take(MAX_VERSION_BYTES as u64).read_to_end(&mut bytes);
            }
            bytes
        })
    });
    let deadline = Instant::now() + VERSION_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return format!(
                    "{} did not answer --version within {}s",
                    path.display(),
                    VERSION_TIMEOUT.as_secs()
                );
            }
        }
    }
    // The pipes may stay open in a grandchild: a reader is waited for until the deadline only.
    let mut texts = Vec::new();
    for reader in readers {
        while !reader.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if reader.is_finished() {
            texts.push(reader.join().unwrap_or_default());
        }
    }
    texts
        .iter()
        .find_map(|bytes| {
            String::from_utf8_lossy(bytes)
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(|l| crate::terminal::clip(l, 200))
        })
        .unwrap_or_else(|| format!("{} printed no version", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_is_said_to_be_missing() {
        assert_eq!(
            version_of("engine-surely-no-such-program"),
            "not found on PATH"
        );
        assert_eq!(find_program("/nonexistent/bin/x"), None);
        assert_eq!(find_program("relative/x"), None);
    }

    #[test]
    fn the_text_names_engine_and_the_programs() {
        let text = versions_text(&[]);
        assert!(
            text.starts_with(&format!("engine: {}\n", env!("CARGO_PKG_VERSION"))),
            "{text}"
        );
        for label in [
            "kernel: ",
            "git (git): ",
            "bwrap (bwrap): ",
            "agent cursor (cursor-agent): ",
        ] {
            assert!(text.contains(label), "{label} in {text}");
        }
    }
}
