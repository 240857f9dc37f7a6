//! `engine plugin check` and `engine plugin describe` through the real binary, on real
//! components: every kind of file a plugin author may hand the engine by mistake is named in
//! plain words (a wrong WIT version, a task source used as a stage, a core module, a file that
//! is not WebAssembly, a WASI program), `engine validate` and `engine run` say the same, a first
//! compile is announced, and a `describe` that traps shows the component's stderr.

use crate::support::{EngineCommand, TestRepo, fixture};

/// `engine ...` in `repo` without compile progress (whether a compile of the shared cache takes
/// more than a second is not the test's business).
fn engine(repo: &TestRepo) -> EngineCommand<'_> {
    repo.engine().env("ENGINE_COMPILE_PROGRESS_AFTER_MS", "off")
}

/// Copies the fixture plugin `name` into the repository as `plugins/<file>`; returns its
/// sha256.
fn plugin(repo: &TestRepo, name: &str, file: &str) -> String {
    let (path, sha) = fixture(name);
    std::fs::create_dir_all(repo.path().join("plugins")).unwrap();
    std::fs::copy(path, repo.path().join("plugins").join(file)).unwrap();
    sha
}

fn check(repo: &TestRepo, args: &[&str]) -> String {
    let r = engine(repo).args(["plugin", "check"]).args(args).run();
    r.exits(2);
    assert_eq!(r.stdout(), "", "{}", r.context());
    r.stderr_normalised()
}

#[test]
fn a_component_built_against_another_wit_version_is_named_with_both_versions() {
    let repo = TestRepo::new();
    let sha = plugin(&repo, "fixture_wit_v2", "future.wasm");
    let message = "`plugins/future.wasm` is a stage built against engine:stage@0.2.0; this \
                   engine provides engine:stage@0.1.0: rebuild it against 0.1 (`engine plugin \
                   new` and `engine plugin build` use this engine's WIT and SDK), or upgrade \
                   engine to one that provides engine:stage@0.2";
    assert_eq!(
        check(&repo, &["plugins/future.wasm"]),
        format!("error: {message}\n")
    );

    // validate and run say the same, at the stage's `uses:`.
    repo.workflow(&format!(
        "name: future\nstages:\n  next:\n    uses: plugins/future.wasm\n    sha256: {sha}\n"
    ));
    let expected = format!(
        "workflow.yaml:4:11: stages.next.uses: cannot load plugin \"plugins/future.wasm\": \
         {message}\nerror: the workflow is invalid (1 problem)\n"
    );
    engine(&repo)
        .args(["validate", "workflow.yaml"])
        .run()
        .exits(2)
        .stderr_is(&expected);
    engine(&repo)
        .args(["run", "workflow.yaml"])
        .task("anything")
        .run()
        .exits(2)
        .stderr_is(&format!("[REPO]/{expected}"));
}

#[test]
fn a_task_source_used_as_a_stage_is_called_a_task_source() {
    let repo = TestRepo::new();
    let message = "is a task source (it exports describe, list-tasks, claim and update), not a \
                   stage: name it in the workflow's `tasks: source:`, not in a stage's `uses:`";
    assert_eq!(
        check(&repo, &["builtin:tasks-md", "--as", "stage"]),
        format!("error: `builtin:tasks-md` {message}\n")
    );
    repo.workflow("name: mixed\nstages:\n  tasks:\n    uses: builtin:tasks-md\n");
    engine(&repo)
        .args(["validate", "workflow.yaml"])
        .run()
        .exits(2)
        .stderr_is(&format!(
            "workflow.yaml:4:11: stages.tasks.uses: cannot load plugin \"builtin:tasks-md\": \
             `builtin:tasks-md` {message}\nerror: the workflow is invalid (1 problem)\n"
        ));

    // And the other way round.
    assert_eq!(
        check(&repo, &["builtin:gate", "--as", "source"]),
        "error: `builtin:gate` is a stage (it exports describe and run), not a task source: \
         name it in a stage's `uses:`, not in the workflow's `tasks: source:`\n"
    );
}

#[test]
fn a_core_module_is_told_to_be_built_as_a_component() {
    let repo = TestRepo::new();
    repo.write("core.wasm", "\0asm\x01\0\0\0");
    assert_eq!(
        check(&repo, &["core.wasm"]),
        "error: `core.wasm` is a core WebAssembly module, not a component: build it as a \
         component, e.g. with cargo --target wasm32-wasip2 / componentize-py / jco \
         componentize (`engine plugin build` does this)\n"
    );
    let r = engine(&repo)
        .args(["plugin", "check", "core.wasm", "--json"])
        .run();
    r.exits(2);
    let doc = r.json();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["kind"], "core-module");
    assert_eq!(doc["wit_version"], serde_json::Value::Null);
    assert!(
        doc["problem"]
            .as_str()
            .unwrap()
            .starts_with("`core.wasm` is a core WebAssembly module, not a component")
    );
}

#[test]
fn files_that_are_not_webassembly_are_named_for_what_they_are() {
    let repo = TestRepo::new();
    repo.write("notes.wasm", "hello, I am text\nsecond line\n");
    assert_eq!(
        check(&repo, &["notes.wasm"]),
        "error: `notes.wasm` is not a WebAssembly file: it is text (it begins `hello, I am \
         text`)\n"
    );
    assert_eq!(
        check(&repo, &["/bin/true"]),
        "error: `/bin/true` is not a WebAssembly file: it is an ELF file (a native Linux \
         program or library)\n"
    );
    repo.write("empty.wasm", "");
    assert_eq!(
        check(&repo, &["empty.wasm"]),
        "error: `empty.wasm` is not a WebAssembly file: it is empty (0 bytes)\n"
    );
    repo.write("cut.wasm", "\0asm\x0d");
    assert_eq!(
        check(&repo, &["cut.wasm"]),
        "error: `cut.wasm` is not a WebAssembly file: it is cut off: it has 5 bytes of the \
         8-byte WebAssembly header and nothing after\n"
    );
    // In a workflow too: never wasmtime's cut-off `bad magic number - expected=[`.
    let sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    std::fs::write(repo.path().join("test.wasm"), "test").unwrap();
    repo.workflow(&format!(
        "name: text\nstages:\n  text:\n    uses: test.wasm\n    sha256: {sha}\n"
    ));
    engine(&repo)
        .args(["validate", "workflow.yaml"])
        .run()
        .exits(2)
        .stderr_is(
            "workflow.yaml:4:11: stages.text.uses: cannot load plugin \"test.wasm\": \
             `test.wasm` is not a WebAssembly file: it is text (it begins `test`)\n\
             error: the workflow is invalid (1 problem)\n",
        );
}

#[test]
fn a_wasi_command_is_not_an_engine_plugin() {
    let repo = TestRepo::new();
    plugin(&repo, "fixture_command", "hello.wasm");
    assert_eq!(
        check(&repo, &["plugins/hello.wasm"]),
        "error: `plugins/hello.wasm` is a WASI program (command: it exports wasi:cli/run), not \
         an engine plugin: a stage exports `describe` and `run` (world \
         engine:stage/stage@0.1.0); start from `engine plugin new NAME --lang rust|python|js`\n"
    );
}

#[test]
fn a_compatible_stage_is_checked_and_described() {
    let repo = TestRepo::new();
    let sha = plugin(&repo, "fixture_echo", "echo.wasm");
    engine(&repo)
        .args(["plugin", "check", "plugins/echo.wasm"])
        .run()
        .succeeds()
        .stderr_is("")
        .stdout_is(&format!(
            "plugins/echo.wasm: ok: a stage this engine can load\n  \
             kind:          stage\n  \
             built against: engine:stage@0.1.0 (this engine provides engine:stage@0.1.0)\n  \
             describe:      fixture-echo 0.1.0: Echoes its context\n  \
             sha256:        {sha}\n"
        ));
    let r = engine(&repo)
        .args(["plugin", "check", "plugins/echo.wasm", "--json"])
        .run();
    r.succeeds();
    let doc = r.json();
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["kind"], "stage");
    assert_eq!(doc["wit_version"], "0.1.0");
    assert_eq!(doc["engine_wit_version"], "0.1.0");
    assert_eq!(doc["name"], "fixture-echo");
    assert_eq!(doc["sha256"], sha.as_str());

    engine(&repo)
        .args(["plugin", "describe", "plugins/echo.wasm"])
        .run()
        .succeeds()
        .stderr_is("")
        .stdout_is(
            "name:          fixture-echo\n\
             version:       0.1.0\n\
             summary:       Echoes its context\n\
             kind:          stage\n\
             built against: engine:stage@0.1.0 (this engine provides engine:stage@0.1.0)\n\
             delivery:      at_least_once\n\
             permissions:\n  \
             workspace:   none\n  \
             exec:        (none)\n  \
             agent:       no\n  \
             net:         (none)\n\
             config schema:\n  \
             {}\n",
        );
}

#[test]
fn a_task_source_is_checked_and_described() {
    let repo = TestRepo::new();
    engine(&repo)
        .args(["plugin", "check", "builtin:tasks-md"])
        .run()
        .succeeds()
        .stdout_has("builtin:tasks-md: ok: a task source this engine can load\n")
        .stdout_has("  kind:          task source\n");
    let r = engine(&repo)
        .args(["plugin", "describe", "builtin:tasks-md"])
        .run();
    r.succeeds();
    let text = r.stdout();
    let head: Vec<&str> = text.lines().take(10).collect();
    assert_eq!(
        head,
        [
            "name:          tasks-md",
            "version:       0.1.0",
            "summary:       Tasks from a spec-runner compatible tasks.md, with status write-back",
            "kind:          task source",
            "built against: engine:stage@0.1.0 (this engine provides engine:stage@0.1.0)",
            "permissions:",
            "  workspace:   write",
            "  exec:        (none)",
            "  agent:       no",
            "  net:         (none)",
        ],
        "{}",
        r.context()
    );
    assert!(text.contains("config schema:\n  {\n"), "{}", r.context());
    assert!(text.contains("\"path\": {"), "{}", r.context());

    let r = engine(&repo)
        .args(["plugin", "describe", "builtin:tasks-md", "--json"])
        .run();
    r.succeeds();
    let doc = r.json();
    assert_eq!(doc["kind"], "source");
    assert_eq!(doc["delivery"], serde_json::Value::Null);
    assert_eq!(doc["permissions"]["workspace"], "write");
    assert_eq!(
        doc["config_schema"]["properties"]["path"]["default"],
        "spec/tasks.md"
    );
}

#[test]
fn a_describe_that_traps_shows_the_components_stderr() {
    let repo = TestRepo::new();
    let sha = plugin(&repo, "fixture_describe_trap", "raises.wasm");
    let stderr_tail = "the component's stderr ended with:\n  \
                       Traceback (most recent call last):\n    \
                       File \"app.py\", line 12, in describe\n      \
                       raise ValueError(\"config schema file schema.json is missing\")\n  \
                       ValueError: config schema file schema.json is missing\n";
    let r = engine(&repo)
        .args(["plugin", "describe", "plugins/raises.wasm"])
        .run();
    r.exits(2);
    assert_eq!(r.stdout(), "");
    let stderr = r.stderr();
    assert!(
        stderr.starts_with(
            "error: `describe` of `plugins/raises.wasm` failed: stage trapped: wasm \
             `unreachable` instruction executed; panicked at "
        ),
        "{}",
        r.context()
    );
    assert!(
        stderr.ends_with(&format!(
            ": Python function threw an unexpected exception\n{stderr_tail}"
        )),
        "{}",
        r.context()
    );

    // validate shows it as well.
    repo.workflow(&format!(
        "name: raises\nstages:\n  raises:\n    uses: plugins/raises.wasm\n    sha256: {sha}\n"
    ));
    engine(&repo)
        .args(["validate", "workflow.yaml"])
        .run()
        .exits(2)
        .stderr_has(&format!(
            "Python function threw an unexpected exception\n{stderr_tail}"
        ));
}

#[test]
fn a_first_compile_is_announced_and_a_cached_one_is_not() {
    let repo = TestRepo::new();
    plugin(&repo, "fixture_echo", "echo.wasm");
    let cache = tempfile::tempdir().unwrap();
    let size = std::fs::metadata(repo.path().join("plugins/echo.wasm"))
        .unwrap()
        .len();
    let check = || {
        repo.engine()
            .env("ENGINE_CACHE_DIR", cache.path())
            .env("ENGINE_COMPILE_PROGRESS_AFTER_MS", "0")
            .args(["plugin", "check", "plugins/echo.wasm"])
            .run()
    };
    let first = check();
    first.succeeds();
    let lines: Vec<String> = first.stderr().lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 2, "{}", first.context());
    assert_eq!(
        lines[0],
        format!(
            "compiling plugins/echo.wasm ({} KB; first use, cached afterwards in {})...",
            size.div_ceil(1000),
            cache.path().display()
        )
    );
    let done = lines[1]
        .strip_prefix("compiled plugins/echo.wasm in ")
        .and_then(|rest| rest.strip_suffix(" s"))
        .unwrap_or_else(|| panic!("{}", first.context()));
    assert!(done.parse::<f64>().is_ok(), "{}", first.context());

    let second = check();
    second.succeeds().stderr_is("");
}

#[test]
fn the_plugin_overview_carries_the_wit_as_it_is() {
    let root = crate::support::repo::source_root();
    let readme = std::fs::read_to_string(root.join("docs/plugins/README.md")).unwrap();
    let blocks: Vec<&str> = readme
        .split("```wit\n")
        .skip(1)
        .map(|rest| rest.split("\n```").next().unwrap())
        .collect();
    assert_eq!(
        blocks.len(),
        2,
        "docs/plugins/README.md has two ```wit blocks"
    );
    for (block, file) in blocks.iter().zip(["wit/stage.wit", "wit/source.wit"]) {
        let wit = std::fs::read_to_string(root.join(file)).unwrap();
        assert!(
            *block == wit.trim_end_matches('\n'),
            "docs/plugins/README.md no longer shows {file} as it is: copy it again"
        );
    }
}

#[test]
fn same_track_components_that_do_not_fit_say_why_and_keep_the_runtimes_words() {
    let repo = TestRepo::new();
    // Built against a later 0.1 whose `log` gained `flush`, which it calls.
    plugin(&repo, "fixture_wit_next", "next.wasm");
    let stderr = check(&repo, &["plugins/next.wasm"]);
    let (said, detail) = stderr.split_once("; wasmtime says: ").unwrap();
    assert_eq!(
        said,
        "error: `plugins/next.wasm` is a stage built against engine:stage@0.1.1, newer than \
         this engine's engine:stage@0.1.0, and uses something 0.1.0 does not have: upgrade \
         engine, or rebuild it against 0.1.0 (`engine plugin build` uses this engine's WIT)"
    );
    assert!(detail.contains("`flush`"), "{detail}");

    // Built from a WIT that says 0.1.0 but whose descriptor lacks `delivery`.
    plugin(&repo, "fixture_wit_drift", "drift.wasm");
    let stderr = check(&repo, &["plugins/drift.wasm"]);
    let (said, detail) = stderr.split_once("; wasmtime says: ").unwrap();
    assert_eq!(
        said,
        "error: `plugins/drift.wasm` is a stage built against engine:stage@0.1.0, but its \
         imports or exports do not match this engine's engine:stage@0.1.0: it was built from a \
         WIT that differs from this engine's under the same version; rebuild it against this \
         engine's WIT (`engine plugin new` and `engine plugin build` use it)"
    );
    assert!(detail.contains("`describe`"), "{detail}");
}
