//! Issue 12, holes 8-13, through the real binary: input budgets (size, nesting, stage count,
//! regular files only), no panic on long titles or a closed stdout, exit 2 for user mistakes,
//! `validate` refusing what `run` refuses, encoding (BOM, tags, invalid UTF-8) and terminal
//! escapes in untrusted text.

use std::fmt::Write as _;

use crate::support::{EngineOutput, TestRepo};

const GATE: &str = "    uses: builtin:gate\n    with: { commands: [\"true\"] }\n    permissions: { workspace: read, exec: [\"true\"] }\n";

/// A workflow of `n` chained gate stages.
fn chain(n: usize) -> String {
    let mut text = String::from("name: big\nstages:\n");
    for i in 0..n {
        let _ = write!(text, "  s{i}:\n{GATE}");
        if i > 0 {
            let _ = writeln!(text, "    needs: [s{}]", i - 1);
        }
    }
    text
}

/// A repository with `spec/tasks.md` holding `tasks` (committed) and `wf.yaml` reading it.
fn tasks_repo(tasks: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.write("spec/tasks.md", tasks);
    repo.write(
        "wf.yaml",
        &format!(
            "name: q\ntasks: {{ source: tasks-md, path: spec/tasks.md }}\nstages:\n  work:\n{GATE}"
        ),
    );
    repo.commit_all("tasks");
    repo
}

/// A user's mistake: exit 2, no panic, and the message (whole, in snapshot `name`).
#[track_caller]
fn assert_usage(r: &EngineOutput, name: &str) {
    r.exits(2);
    assert!(!r.stderr().contains("panicked"), "{}", r.context());
    insta::assert_snapshot!(name, r.stderr_normalised());
}

// Hole 8: budgets.

#[test]
fn a_long_chain_validates_and_deep_nesting_is_refused() {
    let repo = TestRepo::new();
    repo.workflow(&chain(2_000));
    // (The summary lists every stage: its start is enough.)
    repo.run(&["validate", "workflow.yaml"])
        .succeeds()
        .stdout_has("workflow.yaml: ok: workflow \"big\", 2000 stages: s0 (builtin:gate), s1");

    repo.workflow(&"[".repeat(100_000));
    assert_usage(&repo.run(&["validate", "workflow.yaml"]), "nested_too_deep");

    let too_many = format!(
        "name: x\nstages:\n{}",
        (0..=engine_workflow::MAX_STAGES).fold(String::new(), |mut out, i| {
            let _ = writeln!(out, "  s{i}: {{uses: builtin:gate}}");
            out
        })
    );
    repo.workflow(&too_many);
    assert_usage(&repo.run(&["validate", "workflow.yaml"]), "too_many_stages");

    repo.workflow(&format!("name: x\n# {}\n", "x".repeat(5 << 20)));
    assert_usage(
        &repo.run(&["validate", "workflow.yaml"]),
        "workflow_too_big",
    );
}

#[test]
fn only_regular_files_are_read() {
    let repo = TestRepo::new();
    assert_usage(&repo.run(&["validate", "/dev/zero"]), "validate_a_device");
    let fifo = repo.path().join("fifo.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    assert_usage(&repo.run(&["validate", "fifo.yaml"]), "validate_a_fifo");
    repo.workflow(&chain(1));
    assert_usage(
        &repo.run(&["run", "workflow.yaml", "--task-file", "/dev/zero"]),
        "task_file_a_device",
    );
    assert_usage(
        &repo.run(&["run", "workflow.yaml", "--task-file", "fifo.yaml"]),
        "task_file_a_fifo",
    );
}

#[test]
fn a_dry_run_over_a_long_chain_of_tasks_finishes() {
    let mut tasks = String::from("# Tasks\n\n");
    for i in 1..=20_000 {
        let _ = write!(tasks, "### TASK-{i}: Task {i}\nP1 | TODO\n");
        if i > 1 {
            let _ = writeln!(tasks, "**Depends on:** [TASK-{}]", i - 1);
        }
        tasks.push('\n');
    }
    let repo = tasks_repo(&tasks);
    let r = repo.run(&["run", "wf.yaml", "--all", "--dry-run"]);
    r.succeeds();
    // 20000 lines: the head tells.
    let stdout = r.stdout();
    let head: String = stdout.lines().take(3).flat_map(|l| [l, "\n"]).collect();
    insta::assert_snapshot!("dry_run_of_20000_tasks_head", head);
    assert_eq!(stdout.lines().count(), 20_001, "a line per task");
}

// Hole 9: no panics.

#[test]
fn a_huge_title_and_a_closed_stdout_do_not_panic() {
    let title = "A".repeat(70_000);
    let repo = tasks_repo(&format!("# Tasks\n\n### TASK-1: {title}\nP1 | TODO\n"));
    let r = repo.run(&["run", "wf.yaml", "--all", "--dry-run"]);
    r.succeeds();
    // The title is clipped.
    insta::assert_snapshot!("dry_run_huge_title", r.stdout_normalised());

    for args in [
        vec!["tasks", "wf.yaml"],
        vec!["validate", "wf.yaml"],
        vec!["run", "wf.yaml", "--all", "--dry-run"],
    ] {
        // stdout closed (`>&-`): the descriptor is not there at all.
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("exec \"$0\" {} >&-", args.join(" ")))
            .arg(crate::support::engine_bin())
            .current_dir(repo.path())
            .env("ENGINE_CACHE_DIR", crate::support::cache_dir())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        // stdout a pipe whose reader is gone.
        let (_, stderr) = repo.engine().args(&args).run_with_stdout_gone();
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

// Hole 10: exit 2 for user mistakes.

#[test]
fn mistakes_in_the_command_line_exit_2() {
    let repo = TestRepo::new();
    repo.workflow(&chain(1));
    let run = |args: &[&str]| repo.run(args);
    assert_usage(
        &run(&[
            "run",
            "workflow.yaml",
            "--task",
            "x",
            "--base",
            "no-such-branch",
        ]),
        "run_unknown_base",
    );
    assert_usage(
        &run(&["run", "workflow.yaml", "--task", "x", "--base", "../../x"]),
        "run_base_not_a_branch_name",
    );
    // `watch` checks its base before it starts watching.
    assert_usage(
        &run(&["watch", "workflow.yaml", "--base", "no-such-branch"]),
        "watch_unknown_base",
    );
    assert_usage(
        &run(&["run", "workflow.yaml", "--task-file", "nope.txt"]),
        "task_file_missing",
    );
    assert_usage(
        &run(&["run", "workflow.yaml", "--task-file", "src"]),
        "task_file_a_directory",
    );
    repo.write("state-file", "x");
    for (dir, name) in [
        ("state-file", "state_dir_a_file"),
        ("/dev/null", "state_dir_a_device"),
    ] {
        assert_usage(
            &run(&["--state-dir", dir, "run", "workflow.yaml", "--task", "x"]),
            name,
        );
    }
    repo.workflow(&format!(
        "name: x\ngit: {{ base: main..x }}\nstages:\n  a:\n{GATE}"
    ));
    assert_usage(&run(&["validate", "workflow.yaml"]), "git_base_a_range");
}

#[test]
fn a_tasks_path_that_is_a_directory_or_leaves_the_repository_exits_2() {
    let repo = tasks_repo("# Tasks\n\n### TASK-1: One\nP1 | TODO\n");
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("t.md"), "# Tasks\n").unwrap();
    std::os::unix::fs::symlink(outside.path().join("t.md"), repo.path().join("link.md")).unwrap();
    for (path, name) in [
        ("src", "tasks_path_a_directory"),
        ("link.md", "tasks_path_outside"),
    ] {
        repo.write(
            "wf.yaml",
            &format!(
                "name: q\ntasks: {{ source: tasks-md, path: {path} }}\nstages:\n  work:\n{GATE}"
            ),
        );
        assert_usage(
            &repo.run(&["run", "wf.yaml", "--all", "--dry-run"]),
            &format!("{name}_run"),
        );
        assert_usage(&repo.run(&["tasks", "wf.yaml"]), &format!("{name}_tasks"));
    }
}

// Hole 11: validate refuses what run refuses.

#[test]
fn validate_refuses_what_run_refuses() {
    let repo = TestRepo::new();
    repo.workflow(&format!(
        r#"name: x
tasks: {{ source: tasks-md, path: ../outside.md }}
stages:
  a:
{GATE}  hook:
    uses: builtin:gate
    with: {{ commands: ["true"], url: "https://user:pw@hooks.example.com/x" }}
    permissions: {{ workspace: read, exec: ["true"], net: ["hooks.example.com", "host:99999"] }}
  file:
    uses: builtin:gate
    with: {{ commands: ["true"], url: "file:///etc/passwd" }}
    permissions: {{ workspace: read, exec: ["true"], net: ["h"] }}
  review:
    uses: builtin:gate
    with: {{ commands: ["true"], reviewers: [{{ name: x, prompt_file: /etc/passwd }}] }}
    permissions: {{ workspace: read, exec: ["true"] }}
"#
    ));
    // The path outside the repository, the credentials in a URL, a bad port, a scheme that
    // is not http(s), an absolute prompt file.
    assert_usage(
        &repo.run(&["validate", "workflow.yaml"]),
        "validate_refuses_what_run_refuses",
    );
}

// Hole 12: encoding.

#[test]
fn bom_is_accepted_tags_rejected_and_bad_utf8_located() {
    let repo = TestRepo::new();
    repo.workflow(&format!("\u{feff}{}", chain(1)));
    repo.run(&["validate", "workflow.yaml"]).succeeds();

    repo.workflow(&format!(
        "name: x\nstages:\n  a:\n{GATE}    timeout: !!str 5m\n  b:\n    uses: !!binary YnVpbHRpbjpnYXRl\n"
    ));
    assert_usage(&repo.run(&["validate", "workflow.yaml"]), "yaml_tags");

    let mut bytes = b"name: x\nstages:\n  a:\n    uses: builtin:g".to_vec();
    bytes.extend_from_slice(b"\xff\xfeate\n");
    std::fs::write(repo.path().join("workflow.yaml"), bytes).unwrap();
    assert_usage(&repo.run(&["validate", "workflow.yaml"]), "invalid_utf8");
}

// Hole 13: terminal escapes.

#[test]
fn control_characters_never_reach_the_terminal() {
    let evil = "\u{1b}]0;pwned\u{7} x \u{1b}[2J";
    let repo = tasks_repo(&format!("# Tasks\n\n### TASK-1: {evil}\nP1 | TODO\n"));
    // Shown escaped: \x1b]0;pwned\x07 x \x1b[2J.
    let r = repo.run(&["tasks", "wf.yaml"]);
    insta::assert_snapshot!("escaped_in_tasks", r.stdout_normalised());
    let r = repo.run(&["run", "wf.yaml", "--all", "--dry-run"]);
    insta::assert_snapshot!("escaped_in_dry_run", r.stdout_normalised());
    // A workflow name and an unknown stage quoted in an error message.
    repo.workflow(&format!(
        "name: \"{}\"\nstages:\n  a:\n{GATE}    needs: [\"\\e[2Jx\"]\n",
        "\\e]0;pwned\\a"
    ));
    let r = repo.run(&["validate", "workflow.yaml"]);
    r.exits(2);
    insta::assert_snapshot!("escaped_in_validate", r.stderr_normalised());
    let all = format!("{}{}", r.stdout(), r.stderr());
    assert!(!all.contains('\u{1b}') && !all.contains('\u{7}'), "{all:?}");
    // A whole run: progress, summary and `runs`/`show` escape the task title and name.
    repo.workflow(&format!("name: \"\\e]0;pwned\\a\"\nstages:\n  a:\n{GATE}"));
    let r = repo.run(&["run", "workflow.yaml", "--task", evil]);
    let run_id = r.stdout().lines().next().unwrap_or_default().to_string();
    let mut outputs = vec![format!("{}{}", r.stdout(), r.stderr())];
    for args in [vec!["runs"], vec!["show", run_id.as_str()]] {
        let r = repo.run(&args);
        outputs.push(format!("{}{}", r.stdout(), r.stderr()));
    }
    for all in outputs {
        assert!(!all.contains('\u{1b}') && !all.contains('\u{7}'), "{all:?}");
    }
}
