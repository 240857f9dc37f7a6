//! Build caches kept across runs (the workflow's `caches:`) through the real binary: what a gate
//! command writes into a cache in one run, the next run's gate (in another worktree) finds; a
//! stage not granted the cache neither gets its variable nor sees its directory; an agent CLI gets
//! it too (its commands fill it); a `path:` cache
//! is mounted in the worktree and never committed; `engine gc --caches` clears them; bad
//! settings are located errors.

use std::path::{Path, PathBuf};

use crate::support::agent::ScriptedAgent;
use crate::support::{TestRepo, Workflow, uses_fixture};

/// `fill` counts its runs in the `env:` cache and notes its worktree there; `other`, not
/// granted the cache, fails unless the variable is unset and the state directory's caches are
/// out of its sight; `deps` counts in a `path:` cache mounted at `deps/` of the worktree.
const CACHED: &str = r#"
name: cached
caches:
  build: { env: BUILD_CACHE, stages: [fill] }
  deps: { path: deps, stages: [deps] }
stages:
  fill:
    uses: builtin:gate
    with:
      commands:
        - "sh -c 'test -d \"$BUILD_CACHE\" && n=$(cat \"$BUILD_CACHE/n\" 2>/dev/null || echo 0) && echo $((n + 1)) > \"$BUILD_CACHE/n\" && pwd >> \"$BUILD_CACHE/worktrees\"'"
    permissions: { workspace: read, exec: [sh] }
  other:
    uses: builtin:gate
    needs: [fill]
    with:
      commands:
        - "sh -c 'test -z \"$BUILD_CACHE\" && test -d \"$(pwd)/../../worktrees\" && test ! -e \"$(pwd)/../../caches\"'"
    permissions: { workspace: read, exec: [sh] }
  deps:
    uses: builtin:gate
    needs: [other]
    with:
      commands:
        - "sh -c 'n=$(cat deps/n 2>/dev/null || echo 0) && echo $((n + 1)) > deps/n'"
    permissions: { workspace: write, exec: [sh] }
"#;

/// The one directory under `<state>/caches/` (the repository's), and the cache `name` in it.
fn cache_dir(repo: &TestRepo, name: &str) -> PathBuf {
    let root = repo.path().join(".engine/caches");
    let repos: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(repos.len(), 1, "one repository's caches: {repos:?}");
    repos[0].join(name)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_cache_outlives_its_run_and_reaches_only_the_stages_granted_it() {
    let repo = TestRepo::new();
    repo.workflow(CACHED);
    let first = repo.run(&["run", "workflow.yaml"]);
    first.succeeds();
    let second = repo.run(&["run", "workflow.yaml"]);
    second.succeeds();

    // The second run's gate read what the first one wrote, from another worktree.
    let build = cache_dir(&repo, "build");
    assert_eq!(read(&build.join("n")), "2\n");
    let worktrees = read(&build.join("worktrees"));
    let worktrees: Vec<&str> = worktrees.lines().collect();
    assert_eq!(worktrees.len(), 2, "{worktrees:?}");
    assert_ne!(worktrees[0], worktrees[1]);
    for (line, run) in worktrees.iter().zip([first.run_id(), second.run_id()]) {
        assert!(line.ends_with(&format!("/worktrees/{run}")), "{line}");
    }

    // The `path:` cache was mounted at deps/ in both runs' worktrees: its count is on the
    // host, and nothing of it was committed by the write-granted stage.
    assert_eq!(read(&cache_dir(&repo, "deps").join("n")), "2\n");
    let branch = second.report().meta.branch;
    let files = repo.git(&["ls-tree", "-r", "--name-only", &branch]);
    assert!(!files.contains("deps/"), "{files}");
}

#[test]
fn gc_clears_the_caches() {
    let repo = TestRepo::new();
    repo.workflow(CACHED);
    repo.run(&["run", "workflow.yaml"]).succeeds();
    let build = cache_dir(&repo, "build");
    let deps = cache_dir(&repo, "deps");
    assert!(build.join("n").exists());

    // A plain gc keeps them; --dry-run only says what it would remove.
    repo.run(&["gc"]).succeeds();
    assert!(build.join("n").exists());
    let dry = repo.run(&["gc", "--caches", "--dry-run"]);
    dry.succeeds();
    dry.stdout_has(&format!("would remove cache {}", build.display()));
    assert!(build.join("n").exists());

    let r = repo.run(&["gc", "--caches", "--json"]);
    r.succeeds();
    let removed: Vec<(String, String)> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["kind"] == "cache")
        .map(|item| {
            (
                item["action"].as_str().unwrap().to_string(),
                item["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        removed,
        [
            ("removed".to_string(), build.display().to_string()),
            ("removed".to_string(), deps.display().to_string()),
        ]
    );
    assert!(!build.exists() && !deps.exists());

    // The next run starts cold and fills them again.
    repo.run(&["run", "workflow.yaml"]).succeeds();
    assert_eq!(read(&cache_dir(&repo, "build").join("n")), "1\n");
}

#[test]
fn bad_cache_settings_are_located_errors() {
    let repo = TestRepo::new();
    repo.workflow(
        r#"name: bad-caches
env: { CARGO_HOME: /opt/cargo }
caches:
  Target: { env: CARGO_TARGET_DIR }
  preload: { env: LD_PRELOAD }
  path-var: { env: PATH }
  home: { env: CARGO_HOME }
  outside: { path: ../shared }
  git: { path: .git/objects }
  both: { env: X, path: y }
  neither: {}
  picky: { env: CARGO_TARGET_DIR, stages: [tset, plain] }
stages:
  test:
    uses: builtin:gate
    with: { commands: ["cargo test"] }
    permissions: { workspace: read, exec: [cargo] }
  plain:
    uses: builtin:triage
    needs: [test]
    permissions: { workspace: read }
"#,
    );
    let r = repo.run(&["validate", "workflow.yaml"]);
    r.exits(2);
    insta::assert_snapshot!("validate_bad_caches", r.stderr_normalised());

    // A `path:` cache needs the sandbox to mount it.
    repo.workflow(
        r#"name: unconfined
sandbox: { enabled: false }
caches:
  node: { path: node_modules }
stages:
  test:
    uses: builtin:gate
    with: { commands: ["npm test"] }
    permissions: { workspace: read, exec: [npm] }
"#,
    );
    let r = repo.run(&["validate", "workflow.yaml"]);
    r.exits(2);
    r.stderr_has("workflow.yaml:4:17: caches.node.path: a `path:` cache is mounted by the sandbox");
}

#[test]
fn a_path_cache_over_files_in_the_worktree_fails_the_stage_with_why() {
    let repo = TestRepo::new();
    // Tracked files where the cache would be mounted: the mount would hide them.
    repo.write("vendor/lib.txt", "tracked\n")
        .commit_all("vendor");
    repo.workflow(
        r#"name: over-tracked
caches:
  vendor: { path: vendor }
stages:
  test:
    uses: builtin:gate
    with: { commands: ["true"] }
    permissions: { workspace: read, exec: ["true"] }
    retry: { max_attempts: 1 }
"#,
    );
    let r = repo.run(&["run", "workflow.yaml"]);
    r.exits(1);
    let report = r.report();
    let message = &report.stage("test").failure().message;
    assert!(
        message.starts_with("cannot mount cache vendor at ")
            && message.contains("it holds files the mount would hide"),
        "{message}"
    );
}

#[test]
fn an_agent_cli_gets_the_cache_and_its_commands_fill_it() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(
        r#"
- - run: "sh -c 'echo from-agent > \"$BUILD_CACHE/agent.txt\"'"
  - result: {text: "done"}
"#,
    );
    Workflow::named("agent-cache")
        .top("caches:\n  build: { env: BUILD_CACHE }")
        .agents(&agent, "limits: { post_result_grace: 1s }")
        .stage(
            "work",
            &format!(
                "{}\nwith: {{ backend: claude }}\npermissions: {{ workspace: write, agent: true }}\n\
                 retry: {{ max_attempts: 1 }}",
                uses_fixture("fixture_agent")
            ),
        )
        .write(&repo);
    repo.run(&["run", "workflow.yaml"]).succeeds();
    assert_eq!(
        read(&cache_dir(&repo, "build").join("agent.txt")),
        "from-agent\n"
    );
}
