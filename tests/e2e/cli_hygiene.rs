//! Issue 14, point 6, through the real binary: a closed stdout ends commands quietly with
//! nothing left behind, the run id is printed before any work, exit 70 is for bugs only,
//! `--json` prints one JSON document for errors too, completions and the man page, the default
//! workflow path, no colour into a pipe, and `engine cancel` of an undriven run running its
//! `finally:` stages.

use serde_json::Value;

use crate::support::http_server::TestServer;
use crate::support::{TestRepo, Workflow};

/// One gate stage running `true`.
fn gate(name: &str) -> Workflow {
    Workflow::named(name).stage(
        "check",
        "uses: builtin:gate\nwith: { commands: [\"true\"] }\n\
         permissions: { workspace: read, exec: [\"true\"] }\nretry: { max_attempts: 1 }",
    )
}

/// Runs `engine ARGS` in `repo` with its stdout a pipe whose reader is already gone.
fn with_stdout_gone(repo: &TestRepo, args: &[&str]) -> (Option<i32>, String) {
    repo.engine().args(args).run_with_stdout_gone()
}

#[test]
fn a_closed_stdout_ends_every_command_quietly_and_leaves_nothing_behind() {
    let repo = TestRepo::new();
    gate("quiet").write(&repo);

    // `engine run | head -1`: the run goes on to its end; nothing pending, no worktree left.
    for args in [
        ["run", "workflow.yaml", "--task", "closed stdout"].as_slice(),
        [
            "run",
            "workflow.yaml",
            "--task",
            "closed stdout, json",
            "--json",
        ]
        .as_slice(),
    ] {
        let (code, stderr) = with_stdout_gone(&repo, args);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
    }
    let runs = repo.runs();
    assert_eq!(runs.len(), 2, "{runs:?}");
    for run in &runs {
        assert_eq!(run["status"], "succeeded", "{run}");
    }
    let worktrees = repo.path().join(".engine/worktrees");
    let left: Vec<_> = std::fs::read_dir(&worktrees)
        .map(|dir| dir.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "worktrees left: {left:?}");

    // The commands that only report die quietly, like `cat` (SIGPIPE), or end 0.
    let run_id = repo.run_ids()[0].clone();
    for args in [
        vec!["runs"],
        vec!["runs", "--json"],
        vec!["show", run_id.as_str()],
        vec!["show", run_id.as_str(), "--json"],
        vec!["completions", "bash"],
        vec!["man"],
    ] {
        let (code, stderr) = with_stdout_gone(&repo, &args);
        assert_eq!(stderr, "", "{args:?}");
        assert!(matches!(code, None | Some(0)), "{args:?}: {code:?}");
    }
}

#[test]
fn the_run_id_is_printed_before_the_run_has_a_worktree() {
    let repo = TestRepo::new();
    gate("early").write(&repo);
    let mut engine = repo
        .engine()
        .args(["run", "workflow.yaml", "--task", "killed early"])
        .hold("at:worktree-add")
        .spawn();
    engine.wait_for_stderr("holding at worktree-add");
    // Held right after the run was recorded, before its worktree: the id is out already.
    let printed = engine.read_run_id();
    engine.kill9();
    assert_eq!(repo.run_ids(), vec![printed.clone()]);
    assert!(
        !repo
            .path()
            .join(".engine/worktrees")
            .join(&printed)
            .exists()
    );
    // And it is the id to resume.
    repo.run(&["resume", &printed]).succeeds();
}

#[test]
fn a_repository_without_commits_is_the_users_to_fix_not_a_bug() {
    let repo = TestRepo::new();
    let workflow = gate("empty").write(&repo);
    let empty = tempfile::tempdir().unwrap();
    crate::support::repo::git_in(empty.path(), &["init", "-q", "-b", "main"]);
    let r = repo
        .engine()
        .in_dir(empty.path())
        .args(["run", workflow.to_str().unwrap(), "--task", "x"])
        .run();
    r.exits(2);
    r.stderr_has("has no commits yet: a run starts from a commit of the base branch");
    assert!(!r.stderr().contains("this is a bug"), "{}", r.context());
    assert!(
        !empty.path().join(".engine/runs").exists(),
        "no run recorded"
    );

    // No base branch to be found is a usage error too.
    let r = repo
        .engine()
        .args(["run", "workflow.yaml", "--task", "x", "--base", "nope"])
        .run();
    r.exits(2);
}

#[test]
fn places_the_user_named_that_cannot_be_written_exit_2() {
    let repo = TestRepo::new();
    gate("places").write(&repo);
    repo.write("a-file", "x");
    // Under a regular file nothing can be created, whoever runs the test (root included).
    let under_a_file = repo.path().join("a-file/sub");
    let under = under_a_file.to_str().unwrap();
    for (args, says) in [
        (
            vec!["run", "workflow.yaml", "--task", "x", "--state-dir", under],
            "--state-dir [REPO]/a-file/sub: cannot create it",
        ),
        (
            vec!["init", "--output", &format!("{under}/wf.yaml")],
            "cannot write [REPO]/a-file/sub",
        ),
        (
            vec!["hook-receiver", "--count", "0", "--out", under],
            "--out [REPO]/a-file/sub",
        ),
    ] {
        let r = repo.run(&args);
        r.exits(2);
        assert!(r.stderr_normalised().contains(says), "{}", r.context());
        assert!(!r.stderr().contains("this is a bug"), "{}", r.context());
    }
}

/// The JSON error document on stdout: exactly one, with the exit code the process ended with.
#[track_caller]
fn json_error(r: &crate::support::EngineOutput<'_>, code: i32, kind: &str) -> Value {
    r.exits(code);
    let doc = r.json();
    let error = &doc["error"];
    assert_eq!(error["exit_code"], code, "{doc:#}");
    assert_eq!(error["kind"], kind, "{doc:#}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{doc:#}"
    );
    assert_eq!(
        doc.as_object().map(serde_json::Map::len),
        Some(1),
        "{doc:#}"
    );
    doc
}

#[test]
fn json_output_is_one_document_for_errors_too() {
    let repo = TestRepo::new();
    gate("json").write(&repo);
    repo.write("broken.yaml", "name: broken\nstages: [1]\n");

    // An invalid workflow: the diagnostics, as `validate --json` gives them.
    let r = repo.run(&["run", "broken.yaml", "--task", "x", "--json"]);
    let doc = json_error(&r, 2, "invalid_workflow");
    let diagnostic = &doc["error"]["diagnostics"][0];
    assert_eq!(diagnostic["line"], 2, "{doc:#}");
    assert_eq!(diagnostic["field"], "stages", "{doc:#}");
    // The people's message stays on stderr.
    r.stderr_has("error: the workflow is invalid (1 problem)");

    // A usage error of the command, and one clap finds in the command line.
    let r = repo.run(&["run", "workflow.yaml", "--task-file", "nope.txt", "--json"]);
    json_error(&r, 2, "usage");
    let r = repo.run(&["run", "workflow.yaml", "--json", "--no-such-flag"]);
    let doc = json_error(&r, 2, "usage");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--no-such-flag"),
        "{doc:#}"
    );
    // An unknown run, for the other commands with --json.
    for args in [
        ["show", "01NOSUCHRUN", "--json"].as_slice(),
        ["resume", "01NOSUCHRUN", "--json"].as_slice(),
    ] {
        let r = repo.run(args);
        assert_ne!(r.code(), 0, "{}", r.context());
        let doc = r.json();
        assert_eq!(doc["error"]["exit_code"], r.code(), "{args:?}: {doc:#}");
    }
    // Without --json, stdout stays empty.
    let r = repo.run(&["run", "broken.yaml", "--task", "x"]);
    r.exits(2).stdout_is("");
}

#[test]
fn completions_and_the_man_page_come_from_the_command_definitions() {
    let repo = TestRepo::new();
    let help = repo.run(&["--help"]);
    help.succeeds();
    let help = help.stdout();
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|line| !line.starts_with("Commands:"))
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .collect();
    for expected in ["run", "resume", "cancel", "completions", "man"] {
        assert!(commands.contains(&expected), "{commands:?}");
    }

    let bash = repo.run(&["completions", "bash"]);
    bash.succeeds();
    let script = bash.stdout();
    // The words offered after `engine`: the top-level options and every command.
    let top: Vec<&str> = script
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("opts=\"") && line.contains("--state-dir"))
        .unwrap_or_else(|| panic!("no top-level opts line: {script}"))
        .trim_start_matches("opts=\"")
        .trim_end_matches('"')
        .split_whitespace()
        .collect();
    for command in &commands {
        assert!(
            top.contains(command),
            "bash completion lacks {command}: {top:?}"
        );
    }
    assert!(script.contains("complete -F _engine"), "{script}");
    let zsh = repo.run(&["completions", "zsh"]);
    zsh.succeeds().stdout_has("#compdef engine");
    let fish = repo.run(&["completions", "fish"]);
    fish.succeeds().stdout_has("complete -c engine");
    repo.run(&["completions", "tcsh"]).exits(2);

    let man = repo.run(&["man"]);
    man.succeeds();
    let page = man.stdout();
    assert!(
        page.lines().any(|line| line.starts_with(".TH engine 1")),
        "{page}"
    );
    for command in &commands {
        // roff escapes the hyphens of `engine-hook-receiver(1)`.
        let entry = format!("engine\\-{}(1)", command.replace('-', "\\-"));
        assert!(page.contains(&entry), "the man page lacks {entry}");
    }
}

#[test]
fn the_workflow_defaults_to_the_one_engine_init_writes() {
    let repo = TestRepo::new();
    // No workflow given and none at the default place: a clear usage error.
    let r = repo.run(&["run", "--task", "x"]);
    r.exits(2);
    assert_eq!(
        r.stderr_normalised(),
        "error: no workflow given, and [REPO] has no workflows/engine.yaml (the workflow \
         `engine init` writes): pass the workflow file, or create it with `engine init`\n"
    );
    for command in ["watch", "tasks"] {
        repo.run(&[command])
            .exits(2)
            .stderr_has("no workflow given");
    }

    // `engine init` writes there.
    repo.run(&["init", "--backend", "claude", "--test", "make check"])
        .succeeds();
    assert!(repo.path().join("workflows/engine.yaml").is_file());

    // A workflow there is what `engine run` runs, from any directory of the repository.
    repo.write("workflows/engine.yaml", &gate("by-default").yaml());
    let r = repo
        .engine()
        .in_dir(&repo.path().join("src"))
        .args(["run", "--task", "default workflow"])
        .run();
    r.succeeds();
    let report = r.report();
    assert_eq!(report.meta.workflow_name, "by-default");
    // `tasks` reads the same file (which has no task source).
    repo.run(&["tasks"])
        .exits(2)
        .stderr_has("workflows/engine.yaml has no `tasks:` section");
}

#[test]
fn output_into_a_pipe_has_no_colour() {
    let repo = TestRepo::new();
    Workflow::named("fails")
        .stage(
            "check",
            "uses: builtin:gate\nwith: { commands: [\"false\"] }\n\
             permissions: { workspace: read, exec: [\"false\"] }\nretry: { max_attempts: 1 }",
        )
        .write(&repo);
    // Whatever the terminal type, a pipe gets plain text.
    let r = repo
        .engine()
        .args(["run", "workflow.yaml", "--task", "x"])
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .run();
    r.exits(1).stderr_has("✗ check");
    let r2 = repo
        .engine()
        .args(["run", "nope.yaml"])
        .env("TERM", "xterm-256color")
        .run();
    r2.exits(2).stderr_has("error:");
    for out in [r.stdout(), r.stderr(), r2.stderr()] {
        assert!(!out.contains('\u{1b}'), "an escape code in {out:?}");
    }
}

#[test]
fn cancelling_a_run_nobody_drives_runs_its_finally_stages() {
    let repo = TestRepo::new();
    let server = TestServer::answering(200, "ok");
    gate("cancelled")
        .finally(
            "notify",
            &format!(
                "uses: builtin:webhook\nwith:\n  url: \"{}\"\n  message: \"{{{{ task.title }}}}: \
                 {{{{ run.status }}}}\"\npermissions: {{ net: [\"127.0.0.1\"] }}\n\
                 retry: {{ max_attempts: 1 }}",
                server.url("/hook")
            ),
        )
        .write(&repo);
    // Killed right after the run started: interrupted, no process drives it.
    let mut engine = repo
        .engine()
        .args(["run", "workflow.yaml", "--task", "Stop me"])
        .hold("after:1")
        .spawn();
    engine.wait_for_stderr("holding after storing transition 1");
    let run_id = engine.read_run_id();
    engine.kill9();
    assert!(server.requests().is_empty());

    let r = repo.run(&["cancel", &run_id]);
    r.succeeds().stdout_is("run [RUN-1] cancelled\n");
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let body = requests[0].json();
    assert_eq!(body["text"], "Stop me: cancelled", "{body}");
    let report = repo.report(&run_id);
    assert_eq!(report.status(), "cancelled");
    assert_eq!(report.finally("notify").outcome, "succeeded");
    // As a driven run: not succeeded, its worktree stays to inspect (`keep_worktree:
    // on_failure`, the default).
    assert!(repo.path().join(".engine/worktrees").join(&run_id).exists());
    // Done once: resuming the cancelled run sends nothing more.
    repo.run(&["resume", &run_id]).exits(3);
    assert_eq!(server.requests().len(), 1);
}
