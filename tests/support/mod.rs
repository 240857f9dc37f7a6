//! Shared helpers for the end-to-end tests: temporary git repositories, workflows, the fixture
//! plugins, and running the real `engine` binary.

#![allow(dead_code)]

pub mod agent;
pub mod http_server;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// The `engine` binary under test.
pub fn engine_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_engine"))
}

/// A compiled-component cache shared by every test process (compiling a component costs
/// ~200 ms; the cache is keyed by content hash, so sharing it is safe).
pub fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("component-cache")
}

/// The directory holding the fixture plugins (`fixture_loop.wasm`...), built once.
pub fn fixtures_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        engine_runtime::testing::build_fixture_plugins()
            .unwrap_or_else(|e| panic!("building fixture plugins failed: {e}"))
    })
}

/// Path and sha256 of a fixture plugin, e.g. `fixture("fixture_echo")`.
pub fn fixture(name: &str) -> (PathBuf, String) {
    let path = fixtures_dir().join(format!("{name}.wasm"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (path, hex::encode(Sha256::digest(&bytes)))
}

/// `uses:` + `sha256:` lines for a fixture plugin, ready to paste into a stage.
pub fn fixture_uses(name: &str) -> String {
    let (path, sha) = fixture(name);
    format!("uses: {}\n    sha256: {sha}", path.display())
}

/// A temporary git repository with one commit on `main`.
pub struct TestRepo {
    pub dir: tempfile::TempDir,
}

impl TestRepo {
    pub fn new() -> TestRepo {
        let dir = tempfile::tempdir().unwrap();
        let repo = TestRepo { dir };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.write("README.md", "# demo\n");
        repo.write("src/lib.txt", "hello\n");
        repo.git(&["add", "."]);
        repo.git(&["commit", "-q", "-m", "initial"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).unwrap()
    }

    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
            .args(args)
            .current_dir(self.path())
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Writes `workflow.yaml` (untracked, like a user trying a workflow out) and returns its path.
    pub fn workflow(&self, yaml: &str) -> PathBuf {
        let path = self.path().join("workflow.yaml");
        std::fs::write(&path, yaml).unwrap();
        path
    }

    /// A configured `engine` command running in the repository.
    pub fn engine(&self) -> Command {
        let mut cmd = Command::new(engine_bin());
        cmd.current_dir(self.path())
            .env("ENGINE_CACHE_DIR", cache_dir())
            .env_remove("ENGINE_STATE_DIR")
            .env_remove("ENGINE_DEBUG_HOLD")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `engine ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Run {
        let output = self.engine().args(args).output().unwrap();
        Run { output }
    }

    /// Starts `engine ARGS` in the background with piped stdout/stderr.
    pub fn spawn(&self, args: &[&str], env: &[(&str, &str)]) -> Child {
        let mut cmd = self.engine();
        cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.spawn().unwrap()
    }

    /// `engine show RUN --json`, parsed.
    pub fn show(&self, run: &str) -> serde_json::Value {
        let r = self.run(&["show", run, "--json"]);
        assert_eq!(r.code(), 0, "show failed: {}", r.stderr());
        serde_json::from_str(&r.stdout()).unwrap()
    }
}

/// The result of one `engine` invocation.
pub struct Run {
    pub output: Output,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    /// The run id `engine run` prints as its first stdout line.
    pub fn run_id(&self) -> String {
        self.stdout()
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string()
    }
}

/// Reads lines from a child's stderr until one contains `needle` (or the stream ends).
pub fn wait_for_line(reader: &mut impl std::io::BufRead, needle: &str, seen: &mut String) -> bool {
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return false,
            Ok(_) => {
                seen.push_str(&line);
                if line.contains(needle) {
                    return true;
                }
            }
        }
    }
}

/// Sends SIGKILL to a child and reaps it.
pub fn kill9(child: &mut Child) {
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    let _ = child.wait();
}

/// Waits (up to 5 s) until no process works inside `dir` (its working directory there): what a
/// killed engine's attempts started must die with it.
#[allow(dead_code)]
pub fn assert_no_process_under(dir: &Path) {
    let dir = dir.canonicalize().unwrap();
    let inside = || -> Vec<String> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(cwd) = std::fs::read_link(entry.path().join("cwd")) else {
                continue;
            };
            if cwd.starts_with(&dir) {
                let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
                found.push(String::from_utf8_lossy(&cmdline).replace('\0', " "));
            }
        }
        found
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let found = inside();
        if found.is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "processes of a killed attempt survived: {found:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Outcomes of each stage's attempts, from `engine show --json`: `{stage: ["succeeded", ...]}`.
pub fn outcomes(show: &serde_json::Value) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut map = std::collections::BTreeMap::new();
    if let Some(stages) = show["state"]["stages"].as_object() {
        for (id, st) in stages {
            let list = st["history"]
                .as_array()
                .map(|h| {
                    h.iter()
                        .map(|r| r["outcome"]["outcome"].as_str().unwrap_or("?").to_string())
                        .collect()
                })
                .unwrap_or_default();
            map.insert(id.clone(), list);
        }
    }
    map
}
