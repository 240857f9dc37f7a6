//! Shared helpers of the integration tests: one host per test binary, fixture plugins, requests
//! and a recording observer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use engine_core::{Permissions, Task, WorkspaceAccess};
use engine_runtime::{
    AttemptContext, AttemptObserver, AttemptRequest, Host, HostOptions, LoadedStage, LogLevel,
};
use serde_json::Value;

/// The host shared by the tests of the binary. Its compiled-component cache is the one the
/// end-to-end tests share under cargo's `target/tmp` (keyed by content hash and engine
/// version, so sharing it is safe; a test of the cache itself makes its own host): no temporary
/// directory has to outlive the tests.
pub fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        Host::new(HostOptions {
            cache_dir: Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache"),
        })
        .unwrap()
    })
}

/// Path of a fixture plugin component (`fixture-echo`), built once per test session.
pub fn fixture_path(package: &str) -> PathBuf {
    engine_testkit::fixture_plugin(package).unwrap()
}

/// A fixture plugin loaded on the shared host.
pub fn fixture(package: &str) -> LoadedStage {
    let bytes = std::fs::read(fixture_path(package)).unwrap();
    host().load(&bytes, package).unwrap()
}

/// The built-in gate loaded on the shared host.
pub fn gate() -> LoadedStage {
    host()
        .load(engine_runtime::builtin("gate").unwrap(), "builtin:gate")
        .unwrap()
}

/// What the observer saw.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    Log(LogLevel, String),
    Progress(String, Option<f32>),
    ExecStarted(String, Vec<String>),
    ExecFinished(String, Option<i32>),
}

/// Records everything it is told.
#[derive(Default)]
pub struct Recorder {
    pub seen: Mutex<Vec<Seen>>,
}

impl Recorder {
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn logs(&self) -> Vec<(LogLevel, String)> {
        self.seen()
            .into_iter()
            .filter_map(|s| match s {
                Seen::Log(level, message) => Some((level, message)),
                _ => None,
            })
            .collect()
    }
}

impl AttemptObserver for Recorder {
    fn log(&self, level: LogLevel, message: &str) {
        self.seen
            .lock()
            .unwrap()
            .push(Seen::Log(level, message.to_string()));
    }
    fn progress(&self, message: &str, fraction: Option<f32>) {
        self.seen
            .lock()
            .unwrap()
            .push(Seen::Progress(message.to_string(), fraction));
    }
    fn exec_started(&self, program: &str, args: &[String]) {
        self.seen
            .lock()
            .unwrap()
            .push(Seen::ExecStarted(program.to_string(), args.to_vec()));
    }
    fn exec_finished(&self, program: &str, exit_code: Option<i32>, _duration: Duration) {
        self.seen
            .lock()
            .unwrap()
            .push(Seen::ExecFinished(program.to_string(), exit_code));
    }
}

/// A request with `config`, no workspace, no grants, 10 s and 64 MiB.
pub fn request(config: Value) -> (AttemptRequest, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let request = AttemptRequest {
        context: AttemptContext {
            run_id: "run1".into(),
            stage_id: "stage1".into(),
            attempt: 1,
            task: Task {
                id: "t1".into(),
                title: "Title".into(),
                body: "Body".into(),
                labels: vec!["a".into()],
            },
            config,
            outputs: BTreeMap::new(),
            feedback: None,
            interrupted: false,
            previous_failure: None,
            git: None,
        },
        workspace: None,
        permissions: Permissions::default(),
        timeout: Duration::from_secs(10),
        memory_limit_bytes: 64 << 20,
        exec_env: Vec::new(),
        confinement: None,
        observer: recorder.clone(),
        agent: None,
    };
    (request, recorder)
}

/// Mounts `dir` with `access` and grants `exec`.
pub fn with_workspace(
    mut request: AttemptRequest,
    dir: &Path,
    access: WorkspaceAccess,
    exec: &[&str],
) -> AttemptRequest {
    request.workspace = Some(dir.to_path_buf());
    request.permissions = Permissions {
        workspace: access,
        exec: exec.iter().map(std::string::ToString::to_string).collect(),
        ..Permissions::default()
    };
    request
}

/// Whether a process with this pid still runs (a zombie counts as gone).
pub fn process_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Waits (up to 10 s) until the process is gone; returns whether it is.
pub fn wait_gone(pid: i32) -> bool {
    for _ in 0..200 {
        if !process_alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}
