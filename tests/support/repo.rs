//! A temporary git repository a test runs `engine` in: its set-up (files, commits, the
//! workflow), git, `engine` commands, `engine show` typed, and checks of its files.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::command::{EngineCommand, EngineOutput};
use super::diff::assert_text_eq;
use super::normalise::Normaliser;
use super::report::RunReport;

/// A temporary git repository with one commit on `main` (`README.md`, `src/lib.txt`).
pub struct TestRepo {
    /// The directory, removed when the repository is dropped.
    pub dir: tempfile::TempDir,
    normaliser: RefCell<Normaliser>,
}

impl TestRepo {
    /// A fresh repository.
    pub fn new() -> TestRepo {
        let repo = TestRepo::empty();
        repo.write("README.md", "# demo\n");
        repo.write("src/lib.txt", "hello\n");
        repo.commit_all("initial");
        repo
    }

    /// A repository holding a copy of the directory `src` (an example repository) as its one
    /// commit on `main`.
    #[track_caller]
    pub fn from_dir(src: &Path) -> TestRepo {
        let repo = TestRepo::empty();
        copy_dir(src, repo.path());
        repo.commit_all("initial");
        repo
    }

    /// `git init` on `main`, nothing committed.
    fn empty() -> TestRepo {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("no temporary directory: {e}"));
        let mut normaliser = Normaliser::new();
        normaliser.redact(dir.path(), "[REPO]");
        let repo = TestRepo {
            dir,
            normaliser: RefCell::new(normaliser),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    /// The repository's root.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` to `rel` (creating directories).
    #[track_caller]
    pub fn write(&self, rel: &str, text: &str) -> &Self {
        let path = self.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
        }
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        self
    }

    /// Stages everything and commits it on the current branch.
    #[track_caller]
    pub fn commit_all(&self, message: &str) -> &Self {
        self.git(&["add", "."]);
        self.git(&["commit", "-q", "-m", message]);
        self
    }

    /// The text of `rel`.
    #[track_caller]
    pub fn read(&self, rel: &str) -> String {
        let path = self.path().join(rel);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Asserts the whole text of `rel`.
    #[track_caller]
    pub fn assert_file(&self, rel: &str, expected: &str) {
        assert_text_eq(&self.read(rel), expected, rel);
    }

    /// Asserts `rel` does not exist.
    #[track_caller]
    pub fn assert_no_file(&self, rel: &str) {
        assert!(!self.path().join(rel).exists(), "{rel} exists");
    }

    /// Runs `git ARGS` in the repository (with an identity); fails the test if git fails.
    #[track_caller]
    pub fn git(&self, args: &[&str]) -> String {
        git_in(self.path(), args)
    }

    /// Commits on `main` whose message carries run `run_id`'s trailer (what its merge landed).
    #[track_caller]
    pub fn merges_of(&self, run_id: &str) -> usize {
        let grep = format!("--grep=Engine-Run: {run_id}");
        self.git(&["log", "main", "--format=%H", &grep])
            .lines()
            .count()
    }

    /// Writes `workflow.yaml` (untracked, like a user trying a workflow out) and returns its path.
    #[track_caller]
    pub fn workflow(&self, yaml: &str) -> PathBuf {
        self.write("workflow.yaml", yaml);
        self.path().join("workflow.yaml")
    }

    /// An `engine` command running in the repository.
    pub fn engine(&self) -> EngineCommand<'_> {
        EngineCommand::new(self)
    }

    /// Starts `engine run workflow.yaml` of [`super::GATED`] and waits until its approval
    /// waits: that process holds the state directory (and serves its control socket). Returns
    /// it and its run id.
    #[track_caller]
    pub fn holder_waiting_for_approval(&self) -> (super::Spawned, String) {
        self.workflow(super::GATED);
        let mut holder = self
            .engine()
            .args(["run", "workflow.yaml"])
            .task("Ship it")
            .spawn();
        let run_id = holder.read_run_id();
        holder.wait_for_stderr("reject:");
        assert!(
            self.path().join(".engine/control.sock").exists(),
            "the holder serves no control socket"
        );
        (holder, run_id)
    }

    /// Runs `engine ARGS` to completion.
    #[track_caller]
    pub fn run<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> EngineOutput<'_> {
        self.engine().args(args).run()
    }

    /// `engine show RUN --json` as untyped JSON (the conformance suite reads it so).
    #[track_caller]
    pub fn show(&self, run: &str) -> Value {
        let r = self.run(&["show", run, "--json"]);
        r.succeeds();
        r.json()
    }

    /// `engine show RUN --json`, typed.
    #[track_caller]
    pub fn report(&self, run: &str) -> RunReport {
        let r = self.run(&["show", run, "--json"]);
        r.succeeds();
        RunReport::parse(&r.stdout())
    }

    /// `engine runs --json`: one object per run, newest first.
    #[track_caller]
    pub fn runs(&self) -> Vec<Value> {
        let r = self.run(&["runs", "--json"]);
        r.succeeds();
        match r.json() {
            Value::Array(rows) => rows,
            other => panic!("engine runs --json printed no list: {other}"),
        }
    }

    /// The ids of every stored run, newest first.
    #[track_caller]
    pub fn run_ids(&self) -> Vec<String> {
        self.runs()
            .iter()
            .map(|row| row["run_id"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Replaces `path` by `placeholder` in normalised output (an agent's directory...).
    pub fn redact(&self, path: &Path, placeholder: &str) -> &Self {
        self.normaliser.borrow_mut().redact(path, placeholder);
        self
    }

    /// `text` with what varies between runs replaced (see [`super::normalise`]); the commits
    /// of the repository (every ref and reflog) are known as commit hashes.
    pub fn normalise(&self, text: &str) -> String {
        self.normaliser
            .borrow()
            .normalise_with_commits(text, &self.commits())
    }

    /// The full hashes of every commit object in the repository, reachable or not: a run
    /// branch deleted after its squash merge leaves commits no ref or reflog names, and the
    /// output may still show them (none if git cannot tell).
    fn commits(&self) -> Vec<String> {
        Command::new("git")
            .args(["cat-file", "--batch-check", "--batch-all-objects"])
            .current_dir(self.path())
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .output()
            .map(|out| {
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter_map(|line| {
                        // `<hash> <type> <size>`
                        let mut fields = line.split(' ');
                        let hash = fields.next()?;
                        (fields.next() == Some("commit")).then(|| hash.to_string())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Default for TestRepo {
    fn default() -> Self {
        TestRepo::new()
    }
}

/// Runs `git ARGS` in `dir` with a test identity; fails the test if git fails. Without
/// automatic maintenance: every `git commit` would otherwise start a `git maintenance run
/// --auto` process of its own (the tests' repositories never need one).
#[track_caller]
pub fn git_in(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(["-c", "maintenance.auto=false"])
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .unwrap_or_else(|e| panic!("cannot run git: {e}"));
    assert!(
        out.status.success(),
        "git {args:?} in {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Copies the directory tree `from` into `to`.
#[track_caller]
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    let entries = std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    for entry in entries.flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("{}: {e}", entry.path().display()));
        }
    }
}

/// Every file under `dir` (recursively) with its bytes; none if `dir` does not exist.
#[track_caller]
pub fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(path) = todo.pop() {
        if path.is_dir() {
            let entries =
                std::fs::read_dir(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            todo.extend(entries.flatten().map(|e| e.path()));
        } else if path.exists() {
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            files.push((path, bytes));
        }
    }
    files
}

/// Whether `bytes` hold `needle` (a secret looked for in files).
pub fn holds(bytes: &[u8], needle: &str) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The source tree's root (the repository engine is built from).
pub fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}
