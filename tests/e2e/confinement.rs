//! Confinement, shown against hostile processes: a gate command and a scripted agent each try to
//! write into the user's checkout, move `main`, change git's config, write under `$HOME` and
//! `/etc`, read planted secrets, reach a server on 127.0.0.1, leave a `setsid` daemon behind,
//! fork without end, allocate far past the memory limit and write past the file-size limit.
//! Every attempt is refused, the engine survives and records it, and the user's repository is
//! byte-identical afterwards. A `kill -9` of the engine leaves no process of the attempt
//! behind, and `resume` finishes the run.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::agent::ScriptedAgent;
use crate::support::diff::assert_text_eq;
use crate::support::process::{assert_no_process_named, processes_named};
use crate::support::{TestRepo, wait_until};

/// A HOME for the engine with a planted key under `.ssh`, and a secret outside HOME listed in
/// the workflow's `sandbox.hide`.
struct Secrets {
    home: tempfile::TempDir,
    other: tempfile::TempDir,
}

impl Secrets {
    fn plant() -> Secrets {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".ssh")).unwrap();
        std::fs::write(home.path().join(".ssh/id_ed25519"), "PLANTED-SSH-KEY\n").unwrap();
        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("token"), "PLANTED-TOKEN\n").unwrap();
        Secrets { home, other }
    }
}

/// A loopback server that counts the connections it accepted.
struct Listener {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

impl Listener {
    fn start() -> Listener {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Listener { port, accepted }
    }
}

/// A shell script that tries everything and writes one line per attempt to `report.txt` in its
/// working directory (the run's worktree): `<name>: blocked` or `<name>: ALLOWED`.
fn hostile_script(repo: &Path, secrets: &Secrets, port: u16, marker: &str) -> String {
    let repo = repo.display();
    let home = secrets.home.path().display();
    let other = secrets.other.path().display();
    format!(
        r#"r=report.txt; : > $r
cat > fork.py <<'PY'
import os, sys, time
children = []
try:
    for _ in range(200):
        pid = os.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        children.append(pid)
except OSError:
    pass
for pid in children:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
sys.exit(0 if len(children) == 200 else 1)
PY
t() {{ if eval "$2" >/dev/null 2>&1; then echo "$1: ALLOWED" >> $r; else echo "$1: blocked" >> $r; fi; }}
t checkout-write "echo pwned > {repo}/pwned.txt"
t checkout-overwrite "echo pwned > {repo}/README.md"
t reset-hard "git -C {repo} reset -q --hard HEAD~1"
t update-ref-main "git -C {repo} update-ref refs/heads/main HEAD"
t hooks-path "git config core.hooksPath /tmp/evil-hooks"
t hook-file "echo evil > {repo}/.git/hooks/pre-commit"
t other-branch "git branch -f main HEAD"
t home-write "echo evil > {home}/evil.txt"
t etc-write "echo evil > /etc/engine-evil"
t ssh-key-read "grep -q PLANTED {home}/.ssh/id_ed25519"
t hidden-read "grep -q PLANTED {other}/token"
t loopback-connect "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {port}), 2)'"
t fork-cap "python3 fork.py"
t memory-cap "python3 -c 'b = bytearray(1 << 30); b[-1] = 1'"
t file-size-cap "head -c 20000000 /dev/zero > big.bin"
rm -f big.bin fork.py
setsid sh -c 'exec sleep {marker}' >/dev/null 2>&1 < /dev/null &
git add -A . >/dev/null 2>&1; git commit -qm 'work done inside the sandbox' >/dev/null 2>&1
echo committed >> $r
"#
    )
}

/// What must not change in the user's repository: every file of the checkout (the state
/// directory aside), `.git`'s HEAD, config, index, hooks and packed refs, and every ref outside
/// the runs' own branches.
fn fingerprint(repo: &TestRepo) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, skip: &[&str], out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            if skip.iter().any(|s| rel == *s) {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, skip, out);
            } else {
                out.insert(rel, std::fs::read(&path).unwrap_or_default());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(repo.path(), repo.path(), &[".engine", ".git"], &mut out);
    let git = repo.path().join(".git");
    for name in ["HEAD", "config", "index", "packed-refs"] {
        out.insert(
            format!(".git/{name}"),
            std::fs::read(git.join(name)).unwrap_or_default(),
        );
    }
    walk(&git, &git.join("hooks"), &[], &mut out);
    let refs = repo.git(&["for-each-ref", "--format=%(objectname) %(refname)"]);
    let kept: String = refs
        .lines()
        .filter(|l| !l.contains(" refs/heads/engine/"))
        .flat_map(|l| [l, "\n"])
        .collect();
    out.insert("refs".into(), kept.into_bytes());
    out
}

/// A repository with two commits on `main` (so `reset --hard HEAD~1` would move it).
fn repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("second.txt", "two\n").commit_all("second");
    // An untracked file of the user's, such as a `.env`.
    repo.write(".env", "API_KEY=users-own\n");
    repo
}

const LIMITS: &str = "limits: { processes: 64, memory: 256MiB, file_size: 1MiB }";

/// A marker unique to this test process: `sleep <marker>` is the daemon to look for.
fn marker(n: u32) -> String {
    format!("{}.{n}", 90000 + std::process::id() % 9000)
}

/// The report the hostile script committed on the run's branch.
fn report_of(repo: &TestRepo, branch: &str) -> String {
    repo.git(&["show", &format!("{branch}:report.txt")])
}

/// What the hostile script reports when every escape it tried was refused and it could still
/// commit its work.
const ALL_BLOCKED: &str = "\
checkout-write: blocked
checkout-overwrite: blocked
reset-hard: blocked
update-ref-main: blocked
hooks-path: blocked
hook-file: blocked
other-branch: blocked
home-write: blocked
etc-write: blocked
ssh-key-read: blocked
hidden-read: blocked
loopback-connect: blocked
fork-cap: blocked
memory-cap: blocked
file-size-cap: blocked
committed
";

/// Runs the hostile workflow.yaml (HOME is the planted one) and checks the run succeeded, every
/// escape was refused, nothing reached the listener, nothing of the attempt runs on, and the
/// user's repository and HOME are as they were.
#[track_caller]
fn run_hostile(repo: &TestRepo, secrets: &Secrets, listener: &Listener, marker: &str) {
    let before = fingerprint(repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Break out")
        .env("HOME", secrets.home.path())
        .run();
    r.succeeds();
    assert_text_eq(
        &report_of(repo, &r.report().meta.branch),
        ALL_BLOCKED,
        "the hostile script's report",
    );
    assert_eq!(listener.accepted.load(Ordering::SeqCst), 0);
    assert_no_process_named(marker);
    assert_eq!(fingerprint(repo), before, "the user's repository changed");
    assert!(!secrets.home.path().join("evil.txt").exists());
}

#[test]
fn a_hostile_gate_command_is_refused_everything_and_the_repository_is_untouched() {
    let repo = repo();
    let secrets = Secrets::plant();
    let listener = Listener::start();
    let marker = marker(1);
    let script = hostile_script(repo.path(), &secrets, listener.port, &marker);
    std::fs::write(secrets.other.path().join("hostile.sh"), &script).unwrap();
    repo.workflow(&format!(
        r#"name: hostile-gate
git: {{ keep_worktree: always }}
sandbox:
  hide: [{hidden}]
  {LIMITS}
stages:
  evil:
    uses: builtin:gate
    with: {{ commands: [["sh", "-c", {script}]] }}
    permissions: {{ workspace: write, exec: [sh] }}
"#,
        hidden = secrets.other.path().display(),
        script = serde_json::to_string(&script).unwrap(),
    ));
    run_hostile(&repo, &secrets, &listener, &marker);
}

#[test]
fn a_hostile_agent_is_refused_everything_and_the_repository_is_untouched() {
    let repo = repo();
    let secrets = Secrets::plant();
    let listener = Listener::start();
    let marker = marker(2);
    let script = hostile_script(repo.path(), &secrets, listener.port, &marker);
    let agent = ScriptedAgent::new(&format!(
        "- - run: {}\n  - say: \"Done. <promise>COMPLETE</promise>\"\n",
        serde_json::to_string(&script).unwrap()
    ));
    repo.workflow(&format!(
        r"name: hostile-agent
git: {{ keep_worktree: always }}
agents:
{backends}sandbox:
  network: none
  hide: [{hidden}]
  {LIMITS}
stages:
  execute:
    uses: builtin:agent
    with: {{ backend: claude, completion: promise }}
    permissions: {{ workspace: write, agent: true }}
",
        backends = agent.backends_yaml(),
        hidden = secrets.other.path().display(),
    ));
    run_hostile(&repo, &secrets, &listener, &marker);
}

#[test]
fn a_fork_bomb_ends_with_its_stage_and_the_engine_goes_on() {
    let repo = TestRepo::new();
    repo.workflow(&format!(
        r#"name: bomb
sandbox:
  {LIMITS}
stages:
  bomb:
    uses: builtin:gate
    with: {{ commands: [["sh", "-c", "b() {{ b | b & }}; b; sleep 60"]] }}
    permissions: {{ workspace: read, exec: [sh] }}
    timeout: 5s
    retry: {{ max_attempts: 1 }}
  after:
    uses: builtin:gate
    with: {{ commands: ["true"] }}
    permissions: {{ workspace: read, exec: ["true"] }}
"#
    ));
    let r = repo.run(&["run", "workflow.yaml"]);
    // The bomb's stage fails (its time runs out); the engine records it and exits normally.
    r.exits(1);
    assert_eq!(r.report().stage("bomb").phase(), "failed");
}

#[test]
fn the_network_is_there_only_when_granted() {
    let repo = TestRepo::new();
    let listener = Listener::start();
    let connect = format!(
        "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {}), 2)'",
        listener.port
    );
    repo.workflow(&format!(
        r#"name: net
stages:
  offline:
    uses: builtin:gate
    with: {{ commands: [["sh", "-c", {offline_json}]] }}
    permissions: {{ workspace: read, exec: [sh] }}
  online:
    uses: builtin:gate
    needs: [offline]
    with: {{ commands: [["sh", "-c", {connect_json}]] }}
    permissions: {{ workspace: read, exec: [sh] }}
    sandbox: {{ network: all }}
"#,
        connect_json = serde_json::to_string(&connect).unwrap(),
        offline_json = serde_json::to_string(&format!("! {connect}")).unwrap(),
    ));
    repo.run(&["run", "workflow.yaml"]).succeeds();
    assert_eq!(listener.accepted.load(Ordering::SeqCst), 1);
}

#[test]
fn a_kill_9_of_the_engine_leaves_no_process_of_the_attempt_and_resume_finishes() {
    let repo = TestRepo::new();
    let marker = marker(3);
    let agent = ScriptedAgent::new("");
    let scratch = agent.scratch();
    let ready = scratch.join("daemon-started");
    // Session 1 commits inside its sandbox, starts a daemon that leaves the process group, says
    // so, then works for long; session 2 (after resume) finishes.
    let script = format!(
        "- - run: \"echo early > early.txt && git add early.txt && git -c user.name=a -c user.email=a@example.com commit -qm early-inside\"\n  \
           - run: \"setsid sh -c 'exec sleep {marker}' >/dev/null 2>&1 </dev/null & touch {ready}\"\n  \
           - sleep: 60s\n\
         - - say: \"Done. <promise>COMPLETE</promise>\"\n",
        ready = ready.display()
    );
    std::fs::write(agent.script_path(), script).unwrap();
    repo.workflow(&format!(
        r"name: killed
agents:
{backends}stages:
  execute:
    uses: builtin:agent
    with: {{ backend: claude, completion: promise }}
    permissions: {{ workspace: write, agent: true }}
",
        backends = agent.backends_yaml(),
    ));
    let mut engine = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Work")
        .spawn();
    engine.wait_for_file(&ready);
    // The daemon runs (once the shells that started it are done, it alone carries the marker).
    let daemon = format!("sleep {marker}");
    wait_until("the daemon to run", || {
        let found = processes_named(&marker);
        found.len() == 1 && found[0].contains(&daemon)
    });
    engine.kill9();
    // The engine's death takes the sandbox with it: the daemon too.
    assert_no_process_named(&marker);
    let run_id = repo.run_ids()[0].clone();
    repo.run(&["resume", &run_id]).succeeds();
    assert_no_process_named(&marker);
    // What the killed attempt committed inside its sandbox was never lost: the run branch
    // took it when the next attempt started.
    let branch = repo.report(&run_id).meta.branch;
    let log = repo.git(&["log", "--format=%s", &branch]);
    assert!(log.lines().any(|l| l == "early-inside"), "{log}");
}

#[test]
fn with_confinement_off_a_moved_main_fails_the_attempt_and_says_what_moved() {
    let repo = repo();
    repo.workflow(
        r#"name: unconfined
sandbox: { enabled: false }
stages:
  evil:
    uses: builtin:gate
    with: { commands: [["sh", "-c", "git -C \"$REPO\" update-ref refs/heads/main HEAD~1"]] }
    permissions: { workspace: write, exec: [sh] }
env: { REPO: "REPO_PATH" }
"#
        .replace("REPO_PATH", &repo.path().display().to_string())
        .as_str(),
    );
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Move main")
        .run();
    r.exits(1);
    let report = r.report();
    let failure = report.stage("evil").failure();
    assert_eq!(failure.kind, "fatal", "{failure:?}");
    // It names what moved and why it could.
    insta::assert_snapshot!("unconfined_main_moved", repo.normalise(&failure.message));
}

#[test]
fn without_bubblewrap_runs_refuse_to_start_unless_confinement_is_off() {
    let repo = TestRepo::new();
    let gate = "stages:\n  check:\n    uses: builtin:gate\n    with: { commands: [\"true\"] }\n    permissions: { workspace: read, exec: [\"true\"] }\n";
    repo.workflow(&format!("name: confined\n{gate}"));
    let engine = |args: &[&str]| {
        repo.engine()
            .args(args)
            .env("ENGINE_BWRAP", "/nonexistent/bwrap")
            .run()
    };
    let r = engine(&["run", "workflow.yaml"]);
    r.exits(9);
    // It says why and how to turn confinement off.
    insta::assert_snapshot!("cannot_confine", r.stderr_normalised());
    engine(&["runs", "--json"]).stdout_is("[]\n");
    // validate says so, without failing.
    let v = engine(&["validate", "workflow.yaml"]);
    v.succeeds();
    insta::assert_snapshot!("validate_cannot_confine", v.stderr_normalised());
    // Turned off, the run goes ahead and validate warns about that instead.
    repo.workflow(&format!(
        "name: unconfined\nsandbox: {{ enabled: false }}\n{gate}"
    ));
    let v = engine(&["validate", "workflow.yaml"]);
    v.succeeds();
    insta::assert_snapshot!("validate_confinement_off", v.stderr_normalised());
    engine(&["run", "workflow.yaml"]).succeeds();
}

#[test]
fn variables_that_redirect_git_or_load_code_are_refused() {
    let repo = TestRepo::new();
    let gate = "stages:\n  check:\n    uses: builtin:gate\n    with: { commands: [\"true\"] }\n    permissions: { workspace: read, exec: [\"true\"] }\n";
    for (head, field) in [
        ("env: { GIT_DIR: /elsewhere/.git }", "env.GIT_DIR"),
        ("env: { LD_PRELOAD: /tmp/evil.so }", "env.LD_PRELOAD"),
        (
            "agents: { env: { BASH_ENV: /tmp/evil.sh } }",
            "agents.env.BASH_ENV",
        ),
    ] {
        repo.workflow(&format!("name: env\n{head}\n{gate}"));
        let r = repo.run(&["validate", "workflow.yaml"]);
        r.exits(2);
        // The field, and that it cannot be set here.
        insta::assert_snapshot!(format!("refused_{field}"), r.stderr_normalised());
    }
    // A stage's own command may not set them, nor PATH.
    repo.workflow(&format!(
        r#"name: stage-env
stages:
  git-dir:
    {exec}
    with: {{ program: "true", env: [[GIT_DIR, /elsewhere/.git]] }}
    permissions: {{ workspace: read, exec: ["true"] }}
  path:
    {exec}
    needs: [git-dir]
    with: {{ program: "true", env: [[PATH, /workspace/bin]] }}
    permissions: {{ workspace: read, exec: ["true"] }}
"#,
        exec = crate::support::fixture_uses("fixture_exec"),
    ));
    let r = repo.run(&["run", "workflow.yaml"]);
    r.succeeds();
    let report = r.report();
    for stage in ["git-dir", "path"] {
        let error = &report.stage(stage).outputs["error"];
        // It names the variable that may not be set.
        insta::assert_snapshot!(
            format!("stage_sets_{stage}"),
            error["message"].as_str().unwrap_or_default()
        );
    }
}
