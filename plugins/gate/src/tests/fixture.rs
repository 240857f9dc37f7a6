//! A real repository with a run worktree, and a runner that runs real programs in it.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use engine_stage_sdk::RunGit;
use engine_stage_sdk::exec::{ExecError, Output};

use crate::runner::Runner;

/// Identity and isolation for every git the tests run.
const GIT_ENV: [(&str, &str); 6] = [
    ("GIT_AUTHOR_NAME", "Tester"),
    ("GIT_AUTHOR_EMAIL", "tester@example.com"),
    ("GIT_COMMITTER_NAME", "Tester"),
    ("GIT_COMMITTER_EMAIL", "tester@example.com"),
    ("GIT_CONFIG_NOSYSTEM", "1"),
    ("GIT_CONFIG_GLOBAL", "/dev/null"),
];

/// Runs real programs below `root`; refuses programs not in `granted`.
pub struct HostRunner {
    pub root: PathBuf,
    pub granted: Vec<String>,
    pub calls: RefCell<Vec<String>>,
}

impl HostRunner {
    pub fn new(root: &Path, granted: &[&str]) -> Self {
        HostRunner {
            root: root.to_path_buf(),
            granted: granted.iter().map(ToString::to_string).collect(),
            calls: RefCell::new(Vec::new()),
        }
    }
}

impl Runner for HostRunner {
    fn run(
        &self,
        argv: &[String],
        cwd: &str,
        _timeout: Option<Duration>,
    ) -> Result<Output, ExecError> {
        self.calls
            .borrow_mut()
            .push(format!("[{cwd}] {}", argv.join(" ")));
        let program = &argv[0];
        if !self.granted.contains(program) {
            return Err(ExecError::NotPermitted(format!(
                "`{program}` is not granted"
            )));
        }
        let started = Instant::now();
        let out = Command::new(program)
            .args(&argv[1..])
            .current_dir(self.root.join(cwd))
            .envs(GIT_ENV)
            .output()
            .map_err(|e| ExecError::SpawnFailed(e.to_string()))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        Ok(Output {
            exit_code: out.status.code(),
            signal: None,
            timed_out: false,
            stdout_bytes: stdout.len() as u64,
            stderr_bytes: stderr.len() as u64,
            stdout,
            stderr,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }

    fn info(&self, _message: &str) {}
    fn warn(&self, _message: &str) {}
    fn progress(&self, _message: &str, _fraction: f32) {}
}

/// Runs git in `dir`, asserting success; returns stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .envs(GIT_ENV)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A repository whose `main` has `check.sh` = `base_check`, and a run worktree on branch
/// `run` where `check.sh` = `head_check`.
pub struct Repo {
    pub _dir: tempfile::TempDir,
    pub worktree: PathBuf,
    pub git: RunGit,
}

pub fn repo(base_check: &str, head_check: &str) -> Repo {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("main");
    std::fs::create_dir(&main).unwrap();
    git(&main, &["init", "-q", "-b", "main"]);
    std::fs::write(main.join("check.sh"), base_check).unwrap();
    git(&main, &["add", "."]);
    git(&main, &["commit", "-q", "-m", "base"]);
    let base_commit = git(&main, &["rev-parse", "HEAD"]);
    let worktree = dir.path().join("run");
    let wt = worktree.to_str().unwrap();
    git(&main, &["worktree", "add", "-q", "-b", "run", wt]);
    std::fs::write(worktree.join("check.sh"), head_check).unwrap();
    git(
        &worktree,
        &["commit", "-q", "--allow-empty", "-am", "change"],
    );
    Repo {
        _dir: dir,
        git: RunGit {
            branch: "run".into(),
            base_branch: "main".into(),
            base_commit,
            repo_root: main.to_str().unwrap().to_string(),
        },
        worktree,
    }
}
