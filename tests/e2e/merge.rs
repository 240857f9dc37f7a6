//! Runs that land their change: the host commits the work on the run branch, `builtin:merge`
//! merges it into the base with each strategy, conflicts leave the base untouched, a crash
//! between the ref update and the stored transition never merges twice, the user's dirty
//! checkout survives byte for byte, and the PR flow trusts gh's word only when it says MERGED.

mod support;

use std::io::BufReader;

use support::{TestRepo, fixture_uses, kill9, outcomes, wait_for_line};

/// A workflow: `work` writes `file` (committed by the host), then `merge` lands it.
fn workflow(repo: &TestRepo, file: &str, merge_with: &str, merge_grants: &str) -> String {
    workflow_with(repo, "", file, merge_with, merge_grants)
}

/// [`workflow`] with extra top-level YAML (e.g. `env:`).
fn workflow_with(
    repo: &TestRepo,
    head: &str,
    file: &str,
    merge_with: &str,
    merge_grants: &str,
) -> String {
    let path = repo.workflow(&format!(
        r#"name: land
git: {{ keep_worktree: always }}
{head}
stages:
  work:
    {echo}
    with: {{ write: {file} }}
    permissions: {{ workspace: write, exec: [sleep] }}
  merge:
    uses: builtin:merge
    needs: [work]
    with: {merge_with}
    permissions: {{ workspace: read, exec: {merge_grants} }}
    retry: {{ max_attempts: 1 }}
"#,
        echo = fixture_uses("fixture_echo"),
    ));
    path.to_str().unwrap().to_string()
}

/// Commits on `main` whose message carries this run's trailer.
fn merges_of(repo: &TestRepo, run_id: &str) -> usize {
    repo.git(&[
        "log",
        "main",
        "--format=%H",
        &format!("--grep=Engine-Run: {run_id}"),
    ])
    .lines()
    .count()
}

/// The user works on a side branch with uncommitted and untracked files.
fn dirty_side_checkout(repo: &TestRepo) -> Vec<(String, String)> {
    repo.git(&["checkout", "-q", "-b", "wip"]);
    repo.write("README.md", "# demo, edited on wip\n");
    repo.write("scratch/notes.txt", "untracked notes\n");
    vec![
        ("README.md".into(), repo.read("README.md")),
        ("scratch/notes.txt".into(), repo.read("scratch/notes.txt")),
        ("src/lib.txt".into(), repo.read("src/lib.txt")),
    ]
}

#[test]
fn a_full_run_squash_merges_and_the_dirty_checkout_survives_byte_for_byte() {
    let repo = TestRepo::new();
    let files = dirty_side_checkout(&repo);
    let wf = workflow(&repo, "feature.txt", "{ strategy: squash }", "[git]");
    let status = repo.git(&["status", "--porcelain", "--untracked-files=all"]);
    let r = repo.run(&["run", &wf, "--task", "Add the feature\n\nWith a body."]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let run_id = r.run_id();
    // The change landed on main exactly once, as one squash commit with our trailer.
    assert_eq!(merges_of(&repo, &run_id), 1);
    assert!(
        repo.git(&["show", "main:feature.txt"])
            .contains(&format!("{run_id}/work/1"))
    );
    let subject = repo.git(&["log", "-1", "--format=%s", "main"]);
    assert_eq!(subject.trim(), "Add the feature");
    // The work stage's change was committed on the run branch and recorded.
    let show = repo.show(&run_id);
    let commits = show["state"]["stages"]["work"]["history"][0]["commits"]
        .as_array()
        .unwrap();
    assert_eq!(commits.len(), 1, "{show}");
    let branch = show["meta"]["branch"].as_str().unwrap();
    assert_eq!(
        repo.git(&["rev-parse", branch]).trim(),
        commits[0].as_str().unwrap()
    );
    let merge_out = &show["state"]["stages"]["merge"]["outputs"];
    assert_eq!(merge_out["merged"], true, "{merge_out}");
    assert_eq!(merge_out["reconciled"], false);
    // The user's checkout: same branch, same files, same status.
    assert_eq!(repo.git(&["branch", "--show-current"]).trim(), "wip");
    for (path, content) in files {
        assert_eq!(repo.read(&path), content, "{path} changed");
    }
    assert_eq!(
        repo.git(&["status", "--porcelain", "--untracked-files=all"]),
        status
    );
}

#[test]
fn each_strategy_lands_the_change() {
    for (strategy, parents) in [("squash", 1), ("merge", 2), ("rebase", 1), ("ff-only", 1)] {
        let repo = TestRepo::new();
        repo.git(&["checkout", "-q", "-b", "elsewhere"]);
        let wf = workflow(
            &repo,
            "f.txt",
            &format!("{{ strategy: {strategy} }}"),
            "[git]",
        );
        let r = repo.run(&["run", &wf]);
        assert_eq!(r.code(), 0, "{strategy}: {}", r.stderr());
        let tip_parents = repo.git(&["log", "-1", "--format=%P", "main"]);
        assert_eq!(
            tip_parents.split_whitespace().count(),
            parents,
            "{strategy}"
        );
        assert!(
            repo.git(&["show", "main:f.txt"]).contains("/work/1"),
            "{strategy}"
        );
        let show = repo.show(&r.run_id());
        assert_eq!(
            show["state"]["stages"]["merge"]["outputs"]["strategy"],
            strategy
        );
    }
}

#[test]
fn a_conflict_fails_the_merge_with_the_files_and_leaves_the_base_alone() {
    let repo = TestRepo::new();
    repo.git(&["checkout", "-q", "-b", "elsewhere"]);
    // Hold the run after `work` is stored, move main with a conflicting change, then resume.
    let wf = workflow(&repo, "src/lib.txt", "{ strategy: squash }", "[git]");
    let mut child = repo.spawn(&["run", &wf], &[("ENGINE_DEBUG_HOLD", "after:2")]);
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    assert!(
        wait_for_line(&mut stderr, "holding after storing transition 2", &mut seen),
        "{seen}"
    );
    kill9(&mut child);
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    let run_id = out.trim().to_string();
    repo.git(&["checkout", "-q", "main"]);
    repo.write("src/lib.txt", "main changed this line\n");
    repo.git(&["commit", "-q", "-am", "conflicting change"]);
    repo.git(&["checkout", "-q", "elsewhere"]);
    let main_before = repo.git(&["rev-parse", "main"]);

    let r = repo.run(&["resume", &run_id]);
    assert_eq!(r.code(), 1, "{}", r.stderr());
    let show = repo.show(&run_id);
    let failure = &show["state"]["stages"]["merge"]["last_failure"];
    assert_eq!(failure["kind"], "fatal", "{failure}");
    assert!(
        failure["message"]
            .as_str()
            .unwrap()
            .contains("merge conflict with main in 1 file(s): src/lib.txt"),
        "{failure}"
    );
    assert_eq!(
        failure["detail"]["conflicts"],
        serde_json::json!(["src/lib.txt"])
    );
    assert_eq!(
        repo.git(&["rev-parse", "main"]),
        main_before,
        "the base did not move"
    );
}

#[test]
fn killed_after_the_ref_moved_but_before_the_result_was_stored_merges_exactly_once() {
    let repo = TestRepo::new();
    repo.git(&["checkout", "-q", "-b", "elsewhere"]);
    let wf = workflow(&repo, "once.txt", "{ strategy: squash }", "[git]");
    // Transition 3 is "merge succeeded": the ref has moved, the result is not yet stored.
    let mut child = repo.spawn(&["run", &wf], &[("ENGINE_DEBUG_HOLD", "before:3")]);
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    assert!(
        wait_for_line(
            &mut stderr,
            "holding before storing transition 3",
            &mut seen
        ),
        "{seen}"
    );
    kill9(&mut child);
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    let run_id = out.trim().to_string();
    assert_eq!(
        merges_of(&repo, &run_id),
        1,
        "the merge happened before the kill"
    );

    let r = repo.run(&["resume", &run_id]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert_eq!(merges_of(&repo, &run_id), 1, "merged exactly once");
    let show = repo.show(&run_id);
    assert_eq!(outcomes(&show)["merge"], vec!["interrupted", "succeeded"]);
    assert_eq!(
        show["state"]["stages"]["merge"]["outputs"]["reconciled"],
        true
    );
}

#[test]
fn the_base_checked_out_with_uncommitted_work_is_never_moved_under_the_user() {
    let repo = TestRepo::new();
    // The stage writes README.md, which the user is editing on main without committing.
    repo.write("README.md", "# uncommitted edit on main\n");
    let wf = workflow(&repo, "README.md", "{ strategy: squash }", "[git]");
    let main_before = repo.git(&["rev-parse", "main"]);
    let r = repo.run(&["run", &wf]);
    assert_eq!(r.code(), 1, "{}", r.stderr());
    let show = repo.show(&r.run_id());
    let failure = &show["state"]["stages"]["merge"]["last_failure"];
    assert_eq!(failure["kind"], "retryable", "{failure}");
    assert!(
        failure["message"]
            .as_str()
            .unwrap()
            .contains("uncommitted changes"),
        "{failure}"
    );
    assert_eq!(repo.git(&["rev-parse", "main"]), main_before);
    assert_eq!(repo.read("README.md"), "# uncommitted edit on main\n");
}

#[test]
fn uncommitted_work_the_merge_does_not_touch_is_carried_along() {
    let repo = TestRepo::new();
    repo.write("README.md", "# uncommitted edit on main\n");
    let wf = workflow(&repo, "feature.txt", "{ strategy: squash }", "[git]");
    let r = repo.run(&["run", &wf]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(repo.path().join("feature.txt").exists());
    assert_eq!(repo.read("README.md"), "# uncommitted edit on main\n");
}

#[test]
fn a_clean_checkout_of_the_base_follows_the_merge() {
    let repo = TestRepo::new();
    let wf = workflow(&repo, "feature.txt", "{ strategy: squash }", "[git]");
    repo.git(&["add", "workflow.yaml"]);
    repo.git(&["commit", "-q", "-m", "workflow"]);
    let r = repo.run(&["run", &wf]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(
        repo.path().join("feature.txt").exists(),
        "the user's clean checkout was synced"
    );
    assert_eq!(
        repo.git(&["status", "--porcelain"]),
        "",
        "and is clean at the new commit"
    );
}

/// A fake `gh` keeping its PR state in files: `GH_FAKE` holds `checks` (a JSON array) and
/// `merge` (what `gh pr merge` does: `merge` really merges with git, `lie` leaves it OPEN).
fn fake_gh(dir: &std::path::Path) -> std::path::PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = r#"#!/bin/sh
state="$GH_FAKE"
echo "$*" >> "$state/calls"
case "$1 $2" in
  "pr view")
    [ -f "$state/pr" ] || { echo "no pull requests found" >&2; exit 1; }
    printf '{"number":7,"url":"https://example.invalid/pr/7","state":"%s","mergeCommit":%s,"mergeable":"MERGEABLE","headRefOid":"%s"}\n' \
      "$(cat "$state/pr")" "$(cat "$state/merge_commit" 2>/dev/null || echo null)" "$(git rev-parse HEAD)"
    ;;
  "pr create")
    echo OPEN > "$state/pr"; echo "https://example.invalid/pr/7" ;;
  "pr checks")
    cat "$state/checks" ;;
  "pr ready") ;;
  "pr merge")
    if [ "$(cat "$state/merge")" = merge ]; then
      base=$(git rev-parse --abbrev-ref HEAD@{upstream} 2>/dev/null || echo main)
      echo MERGED > "$state/pr"
      printf '{"oid":"%s"}' "$(git rev-parse HEAD)" > "$state/merge_commit"
    fi
    echo "merged" ;;
  *) echo "fake gh: unsupported: $*" >&2; exit 2 ;;
esac
"#;
    let path = bin.join("gh");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    bin
}

fn pr_run(checks: &str, merge: &str) -> (TestRepo, support::Run, String) {
    let repo = TestRepo::new();
    let origin = repo.dir.path().join("..").join(format!(
        "origin-{}.git",
        repo.dir.path().file_name().unwrap().to_string_lossy()
    ));
    std::process::Command::new("git")
        .args(["init", "-q", "--bare", "-b", "main"])
        .arg(&origin)
        .status()
        .unwrap();
    repo.git(&["remote", "add", "origin", origin.to_str().unwrap()]);
    repo.git(&["push", "-q", "origin", "main"]);
    let fake = tempfile::tempdir().unwrap();
    let bin = fake_gh(fake.path());
    let state = fake.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("checks"), checks).unwrap();
    std::fs::write(state.join("merge"), merge).unwrap();
    // Programs run through exec get a scrubbed environment: the fake's state dir comes in
    // through the workflow's `env:`. The merge's confined programs may write the (local)
    // origin they push to and the fake's state.
    let origin = origin.canonicalize().unwrap();
    let wf = workflow_with(
        &repo,
        &format!(
            "env: {{ GH_FAKE: {} }}\nsandbox: {{ write: [{}, {}] }}",
            state.display(),
            origin.display(),
            state.display()
        ),
        "pr.txt",
        "{ mode: pr, strategy: squash, pr: { poll_interval: 1s, checks_timeout: 5s } }",
        "[git, gh, sleep]",
    );
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let output = repo
        .engine()
        .args(["run", &wf])
        .env("PATH", path)
        .env("GH_FAKE", &state)
        .output()
        .unwrap();
    let calls = std::fs::read_to_string(state.join("calls")).unwrap_or_default();
    let _keep = fake.keep();
    (repo, support::Run { output }, calls)
}

#[test]
fn pr_mode_pushes_opens_waits_for_checks_merges_and_confirms() {
    let checks = r#"[{"name":"ci","state":"SUCCESS","bucket":"pass"}]"#;
    let (repo, r, calls) = pr_run(checks, "merge");
    assert_eq!(r.code(), 0, "{}\ncalls:\n{calls}", r.stderr());
    let show = repo.show(&r.run_id());
    let out = &show["state"]["stages"]["merge"]["outputs"];
    assert_eq!(out["pr_number"], 7, "{out}");
    assert!(calls.contains("pr create"), "{calls}");
    assert!(calls.contains("pr merge 7 --squash"), "{calls}");
    // The run branch was pushed to the (bare) origin.
    let branch = show["meta"]["branch"].as_str().unwrap();
    assert!(repo.git(&["ls-remote", "origin", branch]).contains(branch));
}

#[test]
fn pr_mode_fails_on_failing_checks_and_on_a_merge_gh_did_not_really_do() {
    let failing = r#"[{"name":"ci","state":"FAILURE","bucket":"fail"}]"#;
    let (repo, r, _) = pr_run(failing, "merge");
    assert_eq!(r.code(), 1, "{}", r.stderr());
    let show = repo.show(&r.run_id());
    let message = show["state"]["stages"]["merge"]["last_failure"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("checks failed: ci"), "{message}");

    let passing = r#"[{"name":"ci","state":"SUCCESS","bucket":"pass"}]"#;
    let (repo, r, _) = pr_run(passing, "lie");
    assert_eq!(r.code(), 1, "{}", r.stderr());
    let show = repo.show(&r.run_id());
    let message = show["state"]["stages"]["merge"]["last_failure"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("gh reported the merge but the PR is OPEN"),
        "{message}"
    );
}
