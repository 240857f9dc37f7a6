//! The conformance harness: the pinned agent CLIs (installed by scripts/install-agent-clis.sh),
//! the mock model API (tests/conformance/mock) and the real `engine` binary, run together inside
//! a fresh network namespace that has only loopback (`unshare -n`), so nothing leaves the
//! machine. Every backend's module builds on it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use crate::support::{Run, TestRepo, cache_dir, engine_bin};

// The mock model API listens on http://127.0.0.1:8765 inside each namespace (netns-run.sh; each
// test has its own namespace, so the fixed port never collides): the backends' modules write
// that base URL into their workflows and CLI settings.

/// tests/conformance in the source tree.
pub fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance")
}

/// The directory holding the installed CLIs (`bin/claude`, `bin/codex`...). Installs them on
/// first use (scripts/install-agent-clis.sh is idempotent); a failed install fails the test
/// loudly: the suite never skips a CLI.
pub fn clis_bin() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/install-agent-clis.sh");
        let out = Command::new("bash")
            .arg(&script)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "installing the pinned agent CLIs failed ({}); the conformance suite needs them:\n{}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        PathBuf::from(dir).join("bin")
    })
}

/// One test's world: a git repository, a HOME for the CLIs, and a folder for the mock's logs.
pub struct Conformance {
    /// The user's repository.
    pub repo: TestRepo,
    /// HOME of the engine and so of the CLIs (their config and state directories).
    pub home: tempfile::TempDir,
    /// Scenario files, mock logs and request dumps, one `call-N` folder per engine invocation.
    pub work: tempfile::TempDir,
    calls: AtomicUsize,
}

/// What one engine invocation in the namespace did.
pub struct NetnsRun {
    /// The engine's exit status and output.
    pub run: Run,
    /// The mock's log: one entry per request (`role` main/side/unrouted/mock-error, the
    /// normalized `usage` it sent...).
    pub log: Vec<Value>,
    /// The folder with this call's scenario, log, request dumps and the mock's stderr.
    pub dir: PathBuf,
}

impl NetnsRun {
    /// Tokens the mock reported to the CLI, summed over the requests `pick` selects:
    /// `[input, output, cache_read, cache_write]`.
    pub fn sent_tokens(&self, pick: impl Fn(&Value) -> bool) -> [u64; 4] {
        let mut sum = [0u64; 4];
        for entry in self.log.iter().filter(|e| pick(e)) {
            for (i, key) in ["input", "output", "cache_read", "cache_write"]
                .iter()
                .enumerate()
            {
                sum[i] += entry["usage"][key].as_u64().unwrap_or(0);
            }
        }
        sum
    }

    /// How many main requests (the agent loop's, each taking a turn of the scenario) the mock
    /// received.
    pub fn main_requests(&self) -> usize {
        self.log.iter().filter(|e| e["role"] == "main").count()
    }

    /// The request dumps whose file name contains `path_part` (e.g. `chat_completions`), in the
    /// order the mock received them.
    pub fn dump_files(&self, path_part: &str) -> Vec<PathBuf> {
        let mut files: Vec<_> = std::fs::read_dir(self.dir.join("dump"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains(path_part))
            .collect();
        files.sort();
        files
    }

    /// The JSON bodies of the main requests (those offering tools) among the dumps whose file
    /// name contains `path_part`, in order.
    pub fn main_bodies(&self, path_part: &str) -> Vec<Value> {
        self.dump_files(path_part)
            .iter()
            .map(|f| serde_json::from_str::<Value>(&std::fs::read_to_string(f).unwrap()).unwrap())
            .map(|d| d["body"].clone())
            .filter(|b| b["tools"].as_array().is_some_and(|t| !t.is_empty()))
            .collect()
    }

    /// Requests the mock could not route or failed on (a test asserts there are none).
    pub fn mock_problems(&self) -> Vec<&Value> {
        self.log
            .iter()
            .filter(|e| matches!(e["role"].as_str(), Some("unrouted" | "mock-error")))
            .collect()
    }

    /// Everything useful when an assertion fails: the engine's stderr and the mock's log.
    #[track_caller]
    pub fn context(&self) -> String {
        let mock_err = std::fs::read_to_string(self.dir.join("mock.stderr")).unwrap_or_default();
        format!(
            "exit {}\n--- engine stderr\n{}\n--- mock log\n{}\n--- mock stderr\n{}\n--- call dir {}",
            self.run.code(),
            self.run.stderr(),
            self.log
                .iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
            mock_err,
            self.dir.display()
        )
    }
}

impl Conformance {
    /// A fresh repository (one commit on `main`) and a HOME holding only a git identity, as a
    /// developer's machine has. (Without one, aider writes an identity into the repository's
    /// config, which confinement refuses: aider then stops.)
    pub fn new() -> Conformance {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(
            home.path().join(".gitconfig"),
            "[user]\n\tname = Conformance\n\temail = conformance@example.invalid\n",
        )
        .unwrap();
        Conformance {
            repo: TestRepo::new(),
            home,
            work: tempfile::tempdir().unwrap(),
            calls: AtomicUsize::new(0),
        }
    }

    /// HOME of the CLIs.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Writes a file under HOME (a CLI's config).
    pub fn write_home(&self, rel: &str, text: &str) {
        let path = self.home().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// Runs `engine ARGS` in a new loopback-only network namespace where the mock model API
    /// follows `scenario` on <http://127.0.0.1:8765>. The CLIs are first on PATH; HOME is [`Self::home`].
    pub fn engine(&self, scenario: &Value, args: &[&str]) -> NetnsRun {
        self.engine_with_env(scenario, args, &[])
    }

    /// [`Self::engine`] with extra environment variables for the engine process.
    pub fn engine_with_env(
        &self,
        scenario: &Value,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> NetnsRun {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let dir = self.work.path().join(format!("call-{n}"));
        std::fs::create_dir_all(dir.join("dump")).unwrap();
        let scenario_path = dir.join("scenario.json");
        std::fs::write(&scenario_path, serde_json::to_vec_pretty(scenario).unwrap()).unwrap();
        let log_path = dir.join("mock.jsonl");
        std::fs::write(&log_path, "").unwrap();
        let path = format!(
            "{}:{}",
            clis_bin().display(),
            std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into())
        );
        let mut cmd = Command::new("unshare");
        cmd.arg("-n")
            .arg("--")
            .arg("sh")
            .arg(conformance_dir().join("netns-run.sh"))
            .arg(&scenario_path)
            .arg(&log_path)
            .arg(dir.join("dump"))
            .arg("--")
            .arg(engine_bin())
            .args(args)
            .current_dir(self.repo.path())
            .env("HOME", self.home())
            .env("PATH", path)
            .env("ENGINE_CACHE_DIR", cache_dir())
            .env_remove("ENGINE_STATE_DIR")
            .env_remove("ENGINE_DEBUG_HOLD")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let output = cmd.output().expect("unshare runs (util-linux)");
        let run = Run { output };
        // The mock's stderr lands in the dump folder; move it beside the log.
        let _ = std::fs::rename(dir.join("dump/mock.stderr"), dir.join("mock.stderr"));
        assert_ne!(
            run.code(),
            97,
            "not an isolated network namespace: {}",
            run.stderr()
        );
        assert_ne!(run.code(), 98, "the mock did not start: {}", run.stderr());
        let log = std::fs::read_to_string(&log_path)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        NetnsRun { run, log, dir }
    }

    /// `engine show RUN --json` (outside the namespace: it only reads the store).
    pub fn show(&self, run: &str) -> Value {
        self.repo.show(run)
    }

    /// Writes `workflow` into the repository and runs it on `task` ([`Self::engine`]).
    pub fn run_workflow(&self, scenario: &Value, workflow: &str, task: &str) -> NetnsRun {
        let wf = self.repo.workflow(workflow);
        self.engine(scenario, &["run", wf.to_str().unwrap(), "--task", task])
    }

    /// Runs [`agent_gate_merge_workflow`] on the task "Write hello.txt saying hello"; returns
    /// the run (which must have started) and its `engine show`.
    #[track_caller]
    pub fn run_gated(
        &self,
        scenario: &Value,
        head: &str,
        agents_yaml: &str,
        with: &str,
        gate_command: &str,
    ) -> (NetnsRun, Value) {
        let workflow = agent_gate_merge_workflow(head, agents_yaml, with, gate_command);
        let r = self.run_workflow(scenario, &workflow, "Write hello.txt saying hello");
        let id = r.run.run_id();
        assert!(!id.is_empty(), "no run id\n{}", r.context());
        let show = self.show(&id);
        (r, show)
    }

    /// Runs [`agent_review_merge_workflow`] on the task "Write hello.txt".
    pub fn run_reviewed(
        &self,
        scenario: &Value,
        head: &str,
        agents_yaml: &str,
        with: &str,
        review_with: &str,
    ) -> NetnsRun {
        let workflow = agent_review_merge_workflow(head, agents_yaml, with, review_with);
        self.run_workflow(scenario, &workflow, "Write hello.txt")
    }

    /// The raw transcripts of every session of the run, in session order.
    pub fn transcripts(&self, r: &NetnsRun) -> Vec<PathBuf> {
        let dir = self
            .repo
            .path()
            .join(".engine/runs")
            .join(r.run.run_id())
            .join("transcripts");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
    }

    /// Every JSON line the CLI printed on stdout in the run, over its sessions in order.
    pub fn stdout_events(&self, r: &NetnsRun) -> Vec<Value> {
        let mut events = Vec::new();
        for file in self.transcripts(r) {
            for line in std::fs::read_to_string(&file).unwrap().lines() {
                let Ok(record) = serde_json::from_str::<Value>(line) else {
                    continue;
                };
                if record["stream"] != "stdout" {
                    continue;
                }
                if let Ok(event) =
                    serde_json::from_str::<Value>(record["line"].as_str().unwrap_or(""))
                {
                    events.push(event);
                }
            }
        }
        events
    }
}

/// Tokens the engine recorded for a stage, summed over its attempts' spends:
/// `([input, output, cache_read, cache_write], cost_usd)`.
pub fn recorded(show: &Value, stage: &str) -> ([u64; 4], f64) {
    let mut sum = [0u64; 4];
    let mut cost = 0.0;
    for attempt in show["state"]["stages"][stage]["history"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let spend = &attempt["spend"];
        for (i, key) in [
            "input_tokens",
            "output_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
        ]
        .iter()
        .enumerate()
        {
            sum[i] += spend[key].as_u64().unwrap_or(0);
        }
        cost += spend["cost_usd"].as_f64().unwrap_or(0.0);
    }
    (sum, cost)
}

/// An `agents:` block body: `env` (each value a string) and, unless empty, `limits` (a YAML
/// flow mapping).
pub fn agents_block(env: &[(&str, &str)], limits: &str) -> String {
    let mut yaml = "  env:\n".to_owned();
    for (key, value) in env {
        let _ = writeln!(yaml, "    {key}: {}", serde_json::to_string(value).unwrap());
    }
    if !limits.is_empty() {
        let _ = writeln!(yaml, "  limits: {limits}");
    }
    yaml
}

/// A workflow running `builtin:agent` (with `with`), then the stage `check` (its YAML, named
/// `check_name`), then a squash merge. `agents_yaml` is the whole `agents:` block body (env,
/// backends, limits), indented by two spaces; `head` holds extra top-level keys (`prices:`,
/// `budget:`...).
fn agent_check_merge_workflow(
    name: &str,
    head: &str,
    agents_yaml: &str,
    with: &str,
    check_name: &str,
    check: &str,
) -> String {
    format!(
        r"name: {name}
git: {{ keep_worktree: always }}
{head}
agents:
{agents_yaml}
stages:
  execute:
    uses: builtin:agent
    with: {with}
    permissions: {{ workspace: write, agent: true }}
    retry: {{ max_attempts: 1 }}
  {check_name}:
{check}
    retry: {{ max_attempts: 1 }}
  merge:
    uses: builtin:merge
    needs: [{check_name}]
    with: {{ strategy: squash }}
    permissions: {{ workspace: read, exec: [git] }}
    retry: {{ max_attempts: 1 }}
"
    )
}

/// A workflow running `builtin:agent` (with `with`) then a gate (`gate_command`, run by `sh`)
/// then a squash merge (see [`agent_check_merge_workflow`] for the other arguments).
pub fn agent_gate_merge_workflow(
    head: &str,
    agents_yaml: &str,
    with: &str,
    gate_command: &str,
) -> String {
    let gate = serde_json::to_string(gate_command).unwrap();
    let check = format!(
        "    uses: builtin:gate
    needs: [execute]
    with: {{ commands: [{gate}] }}
    permissions: {{ workspace: read, exec: [sh] }}"
    );
    agent_check_merge_workflow("conformance", head, agents_yaml, with, "test", &check)
}

/// A workflow running `builtin:agent` (with `with`), then `builtin:review` (with
/// `review_with`: its backend, model and personas) on the run's diff, then a squash merge.
pub fn agent_review_merge_workflow(
    head: &str,
    agents_yaml: &str,
    with: &str,
    review_with: &str,
) -> String {
    let check = format!(
        "    uses: builtin:review
    needs: [execute]
    with: {review_with}
    permissions: {{ workspace: read, agent: true, exec: [git] }}"
    );
    agent_check_merge_workflow(
        "conformance-review",
        head,
        agents_yaml,
        with,
        "review",
        &check,
    )
}
