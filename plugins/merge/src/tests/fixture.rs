//! A real repository set-up and a runner that runs real programs in the run's worktree.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use engine_stage_sdk::{StageError, Success};
use serde_json::Value;

use crate::config::MergeConfig;
use crate::facts::RunFacts;
use crate::runner::{Output, RunError, Runner};

/// Identity for every git the tests run.
const IDENTITY: [(&str, &str); 6] = [
    ("GIT_AUTHOR_NAME", "Tester"),
    ("GIT_AUTHOR_EMAIL", "tester@example.com"),
    ("GIT_COMMITTER_NAME", "Engine"),
    ("GIT_COMMITTER_EMAIL", "engine@example.com"),
    ("GIT_CONFIG_NOSYSTEM", "1"),
    ("GIT_CONFIG_GLOBAL", "/dev/null"),
];

type Hook = Box<dyn Fn(&str, &[String])>;
type GhScript = Box<dyn Fn(&[String]) -> Output>;

/// Runs real programs in the run's worktree; `gh` is scripted; `sleep` is recorded.
pub struct TestRunner {
    cwd: PathBuf,
    /// Called before every program runs.
    pub before: Option<Hook>,
    /// Answers `gh`.
    pub gh: Option<GhScript>,
    /// Every call, as `program arg arg...`.
    pub calls: RefCell<Vec<String>>,
    /// Every sleep.
    pub slept: RefCell<Vec<Duration>>,
    /// Runs programs like a machine without a git identity: no identity variables, `HOME`
    /// this (empty) directory, no system or global git configuration.
    pub no_identity_home: Option<PathBuf>,
    /// Environment every program gets, as if the host's own (e.g. `GIT_AUTHOR_NAME`).
    pub env: Vec<(String, String)>,
}

impl TestRunner {
    pub fn new(cwd: &Path) -> Self {
        TestRunner {
            cwd: cwd.to_path_buf(),
            before: None,
            gh: None,
            calls: RefCell::new(Vec::new()),
            slept: RefCell::new(Vec::new()),
            no_identity_home: None,
            env: Vec::new(),
        }
    }

    /// The git subcommands run so far, in order (`-C <dir>` skipped).
    pub fn git_commands(&self) -> Vec<String> {
        self.calls
            .borrow()
            .iter()
            .filter_map(|c| c.strip_prefix("git "))
            .map(|args| {
                let mut words = args.split(' ');
                let mut first = words.next().unwrap_or_default();
                while first == "-C" || first == "--no-optional-locks" {
                    if first == "-C" {
                        words.next();
                    }
                    first = words.next().unwrap_or_default();
                }
                first.to_string()
            })
            .collect()
    }

    pub fn called(&self, prefix: &str) -> usize {
        self.calls
            .borrow()
            .iter()
            .filter(|c| c.starts_with(prefix))
            .count()
    }
}

impl Runner for TestRunner {
    fn run(
        &self,
        program: &str,
        args: &[String],
        env: &[(String, String)],
    ) -> Result<Output, RunError> {
        self.calls
            .borrow_mut()
            .push(format!("{program} {}", args.join(" ")));
        if let Some(hook) = &self.before {
            hook(program, args);
        }
        if program == "gh" {
            let script = self.gh.as_ref().ok_or_else(|| RunError {
                program: "gh".into(),
                reason: "not granted".into(),
            })?;
            return Ok(script(args));
        }
        let mut command = Command::new(program);
        command.args(args).current_dir(&self.cwd);
        match &self.no_identity_home {
            Some(home) => {
                for (name, _) in IDENTITY {
                    command.env_remove(name);
                }
                command
                    .env_remove("EMAIL")
                    .env_remove("GIT_CONFIG_GLOBAL")
                    .env("HOME", home)
                    .env("XDG_CONFIG_HOME", home)
                    .env("GIT_CONFIG_NOSYSTEM", "1");
            }
            None => {
                command.envs(IDENTITY);
            }
        }
        let out = command
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .map_err(|e| RunError {
                program: program.into(),
                reason: e.to_string(),
            })?;
        Ok(Output {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    fn sleep(&self, duration: Duration) -> Result<(), RunError> {
        self.slept.borrow_mut().push(duration);
        Ok(())
    }

    fn info(&self, _message: &str) {}

    fn warn(&self, _message: &str) {}
}

/// Runs git in `dir`, panicking on failure; returns trimmed stdout.
/// Commits `content` to `file` in the clone `dir`; the new commit's id.
pub fn commit(dir: &Path, file: &str, content: &str, message: &str) -> String {
    std::fs::write(dir.join(file), content).unwrap();
    git(dir, &["add", file]);
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .envs(IDENTITY)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A bare origin, the user's checkout on `main` and a run worktree on `engine/t1-x`.
pub struct Repo {
    _dir: tempfile::TempDir,
    pub origin: PathBuf,
    pub user: PathBuf,
    pub run: PathBuf,
    pub base_commit: String,
}

pub const BRANCH: &str = "engine/t1-x";

impl Repo {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let origin = dir.path().join("origin.git");
        let user = dir.path().join("user");
        let run = dir.path().join("run");
        std::fs::create_dir_all(&user).unwrap();
        git(
            dir.path(),
            &["init", "-q", "--bare", "-b", "main", "origin.git"],
        );
        git(&user, &["init", "-q", "-b", "main"]);
        std::fs::write(user.join("README"), "hello\n").unwrap();
        std::fs::write(user.join("shared.txt"), "one\ntwo\nthree\n").unwrap();
        git(&user, &["add", "."]);
        git(&user, &["commit", "-q", "-m", "initial"]);
        git(
            &user,
            &["remote", "add", "origin", origin.to_str().unwrap()],
        );
        git(&user, &["push", "-q", "origin", "main"]);
        let base_commit = git(&user, &["rev-parse", "main"]);
        git(
            &user,
            &[
                "worktree",
                "add",
                "-q",
                "-b",
                BRANCH,
                run.to_str().unwrap(),
                "main",
            ],
        );
        Repo {
            _dir: dir,
            origin,
            user,
            run,
            base_commit,
        }
    }

    pub fn main(&self) -> String {
        git(&self.user, &["rev-parse", "refs/heads/main"])
    }

    pub fn facts(&self) -> RunFacts {
        RunFacts {
            run_id: "run-1".into(),
            task_id: "t1".into(),
            task_title: "Add the feature".into(),
            task_body: "It does things.\n".into(),
            branch: BRANCH.into(),
            base_branch: "main".into(),
            base_commit: self.base_commit.clone(),
            repo_root: self.user.to_str().unwrap().into(),
            interrupted: false,
        }
    }

    pub fn runner(&self) -> TestRunner {
        TestRunner::new(&self.run)
    }
}

pub fn config(v: Value) -> MergeConfig {
    serde_json::from_value(v).unwrap()
}

/// Runs the stage's logic.
pub fn merge(
    runner: &TestRunner,
    config: &MergeConfig,
    facts: &RunFacts,
) -> Result<Success, StageError> {
    crate::run_merge(runner, config, facts)
}

/// The number of commits in `range`.
pub fn count(dir: &Path, range: &str) -> usize {
    git(dir, &["rev-list", "--count", range]).parse().unwrap()
}
