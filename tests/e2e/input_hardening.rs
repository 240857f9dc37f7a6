//! Issue 12, holes 8-13, through the real binary: input budgets (size, nesting, stage count,
//! regular files only), no panic on long titles or a closed stdout, exit 2 for user mistakes,
//! `validate` refusing what `run` refuses, encoding (BOM, tags, invalid UTF-8) and terminal
//! escapes in untrusted text.

mod support;

use std::process::Stdio;

use support::{Run, TestRepo};

const GATE: &str = "    uses: builtin:gate\n    with: { commands: [\"true\"] }\n    permissions: { workspace: read, exec: [\"true\"] }\n";

/// A workflow of `n` chained gate stages.
fn chain(n: usize) -> String {
    let mut text = String::from("name: big\nstages:\n");
    for i in 0..n {
        text.push_str(&format!("  s{i}:\n{GATE}"));
        if i > 0 {
            text.push_str(&format!("    needs: [s{}]\n", i - 1));
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
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "tasks"]);
    repo
}

fn assert_usage(r: &Run, needle: &str) {
    assert_eq!(
        r.code(),
        2,
        "stdout: {}\nstderr: {}",
        r.stdout(),
        r.stderr()
    );
    assert!(
        r.stderr().contains(needle),
        "{needle:?} not in: {}",
        r.stderr()
    );
    assert!(!r.stderr().contains("panicked"), "{}", r.stderr());
}

// Hole 8: budgets.

#[test]
fn a_long_chain_validates_and_deep_nesting_is_refused() {
    let repo = TestRepo::new();
    repo.workflow(&chain(2_000));
    let r = repo.run(&["validate", "workflow.yaml"]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(r.stdout().contains("2000 stages"), "{}", r.stdout());

    repo.workflow(&"[".repeat(100_000));
    let r = repo.run(&["validate", "workflow.yaml"]);
    assert_usage(&r, "nested more than 64 levels deep");
    assert!(r.stderr().contains("workflow.yaml:1:"), "{}", r.stderr());

    let too_many = format!(
        "name: x\nstages:\n{}",
        (0..engine_workflow::MAX_STAGES + 1)
            .map(|i| format!("  s{i}: {{uses: builtin:gate}}\n"))
            .collect::<String>()
    );
    repo.workflow(&too_many);
    let r = repo.run(&["validate", "workflow.yaml"]);
    assert_usage(&r, "the limit is 25000");

    repo.workflow(&format!("name: x\n# {}\n", "x".repeat(5 << 20)));
    let r = repo.run(&["validate", "workflow.yaml"]);
    assert_usage(&r, "the limit is 4194304 bytes");
}

#[test]
fn only_regular_files_are_read() {
    let repo = TestRepo::new();
    let r = repo.run(&["validate", "/dev/zero"]);
    assert_usage(&r, "must be a regular file (this is a device)");
    let fifo = repo.path().join("fifo.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let r = repo.run(&["validate", "fifo.yaml"]);
    assert_usage(&r, "this is a FIFO");
    repo.workflow(&chain(1));
    let r = repo.run(&["run", "workflow.yaml", "--task-file", "/dev/zero"]);
    assert_usage(&r, "must be a regular file");
    let r = repo.run(&["run", "workflow.yaml", "--task-file", "fifo.yaml"]);
    assert_usage(&r, "this is a FIFO");
}

#[test]
fn a_dry_run_over_a_long_chain_of_tasks_finishes() {
    let mut tasks = String::from("# Tasks\n\n");
    for i in 1..=20_000 {
        tasks.push_str(&format!("### TASK-{i}: Task {i}\nP1 | TODO\n"));
        if i > 1 {
            tasks.push_str(&format!("**Depends on:** [TASK-{}]\n", i - 1));
        }
        tasks.push('\n');
    }
    let repo = tasks_repo(&tasks);
    let r = repo.run(&["run", "wf.yaml", "--all", "--dry-run"]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(
        r.stdout().starts_with("would run 20000 tasks"),
        "{}",
        &r.stdout()[..200]
    );
}

// Hole 9: no panics.

#[test]
fn a_huge_title_and_a_closed_stdout_do_not_panic() {
    let title = "A".repeat(70_000);
    let repo = tasks_repo(&format!("# Tasks\n\n### TASK-1: {title}\nP1 | TODO\n"));
    let r = repo.run(&["run", "wf.yaml", "--all", "--dry-run"]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(r.stdout().contains("AAA…"), "the title is clipped");

    for args in [
        vec!["tasks", "wf.yaml"],
        vec!["validate", "wf.yaml"],
        vec!["run", "wf.yaml", "--all", "--dry-run"],
    ] {
        // stdout closed (`>&-`): the descriptor is not there at all.
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("exec \"$0\" {} >&-", args.join(" ")))
            .arg(support::engine_bin())
            .current_dir(repo.path())
            .env("ENGINE_CACHE_DIR", support::cache_dir())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        // stdout a pipe whose reader is gone.
        let mut child = repo
            .engine()
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
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
        "no branch or commit \"no-such-branch\"",
    );
    assert_usage(
        &run(&["run", "workflow.yaml", "--task", "x", "--base", "../../x"]),
        "is not a branch name",
    );
    // `watch` checks its base before it starts watching.
    assert_usage(
        &run(&["watch", "workflow.yaml", "--base", "no-such-branch"]),
        "no branch or commit \"no-such-branch\"",
    );
    assert_usage(
        &run(&["run", "workflow.yaml", "--task-file", "nope.txt"]),
        "--task-file nope.txt",
    );
    assert_usage(
        &run(&["run", "workflow.yaml", "--task-file", "src"]),
        "a directory",
    );
    repo.write("state-file", "x");
    for dir in ["state-file", "/dev/null"] {
        assert_usage(
            &run(&["--state-dir", dir, "run", "workflow.yaml", "--task", "x"]),
            "not a directory",
        );
    }
    repo.workflow(&format!(
        "name: x\ngit: {{ base: main..x }}\nstages:\n  a:\n{GATE}"
    ));
    assert_usage(
        &run(&["validate", "workflow.yaml"]),
        "git.base: \"main..x\"",
    );
}

#[test]
fn a_tasks_path_that_is_a_directory_or_leaves_the_repository_exits_2() {
    let repo = tasks_repo("# Tasks\n\n### TASK-1: One\nP1 | TODO\n");
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("t.md"), "# Tasks\n").unwrap();
    std::os::unix::fs::symlink(outside.path().join("t.md"), repo.path().join("link.md")).unwrap();
    for (path, needle) in [
        ("src", "is a directory"),
        ("link.md", "outside the repository"),
    ] {
        repo.write(
            "wf.yaml",
            &format!(
                "name: q\ntasks: {{ source: tasks-md, path: {path} }}\nstages:\n  work:\n{GATE}"
            ),
        );
        assert_usage(&repo.run(&["run", "wf.yaml", "--all", "--dry-run"]), needle);
        assert_usage(&repo.run(&["tasks", "wf.yaml"]), needle);
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
    let r = repo.run(&["validate", "workflow.yaml"]);
    for needle in [
        "tasks.path: \"../outside.md\" must stay inside the repository",
        "stages.hook.with.url: the URL must not carry credentials",
        "stages.hook.permissions.net[1]: \"host:99999\": the port must be a number from 1 to 65535",
        "stages.file.with.url: the URL's scheme must be http or https",
        "prompt_file: \"/etc/passwd\" must be relative to the repository root",
    ] {
        assert_usage(&r, needle);
    }
}

// Hole 12: encoding.

#[test]
fn bom_is_accepted_tags_rejected_and_bad_utf8_located() {
    let repo = TestRepo::new();
    repo.workflow(&format!("\u{feff}{}", chain(1)));
    let r = repo.run(&["validate", "workflow.yaml"]);
    assert_eq!(r.code(), 0, "{}", r.stderr());

    repo.workflow(&format!(
        "name: x\nstages:\n  a:\n{GATE}    timeout: !!str 5m\n  b:\n    uses: !!binary YnVpbHRpbjpnYXRl\n"
    ));
    let r = repo.run(&["validate", "workflow.yaml"]);
    assert_usage(
        &r,
        "workflow.yaml:7:20: stages.a.timeout: YAML tags are not supported (found !!str)",
    );
    assert!(
        r.stderr()
            .contains(":9:20: stages.b.uses: YAML tags are not supported (found !!binary)"),
        "{}",
        r.stderr()
    );

    let mut bytes = b"name: x\nstages:\n  a:\n    uses: builtin:g".to_vec();
    bytes.extend_from_slice(b"\xff\xfeate\n");
    std::fs::write(repo.path().join("workflow.yaml"), bytes).unwrap();
    let r = repo.run(&["validate", "workflow.yaml"]);
    assert_usage(&r, "workflow.yaml:4:20: the workflow is not valid UTF-8");
}

// Hole 13: terminal escapes.

#[test]
fn control_characters_never_reach_the_terminal() {
    let evil = "\u{1b}]0;pwned\u{7} x \u{1b}[2J";
    let repo = tasks_repo(&format!("# Tasks\n\n### TASK-1: {evil}\nP1 | TODO\n"));
    let escaped = "\\x1b]0;pwned\\x07 x \\x1b[2J";
    let r = repo.run(&["tasks", "wf.yaml"]);
    assert!(r.stdout().contains(escaped), "{}", r.stdout());
    let r = repo.run(&["run", "wf.yaml", "--all", "--dry-run"]);
    assert!(r.stdout().contains(escaped), "{}", r.stdout());
    // A workflow name and an unknown stage quoted in an error message.
    repo.workflow(&format!(
        "name: \"{}\"\nstages:\n  a:\n{GATE}    needs: [\"\\e[2Jx\"]\n",
        "\\e]0;pwned\\a"
    ));
    let r = repo.run(&["validate", "workflow.yaml"]);
    assert_eq!(r.code(), 2, "{}", r.stderr());
    assert!(r.stderr().contains("\\x1b[2Jx"), "{}", r.stderr());
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
