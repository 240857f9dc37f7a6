//! Runs that land their change: the host commits the work on the run branch, `builtin:merge`
//! merges it into the base with each strategy, conflicts leave the base untouched, a crash
//! between the ref update and the stored transition never merges twice, the user's dirty
//! checkout survives byte for byte, and the PR flow trusts gh's word only when it says MERGED.

use crate::support::{Run, TestRepo, Workflow, uses_fixture};

/// `work` writes `file` (committed by the host), then `merge` lands it configured by
/// `merge_with`, its programs granted `merge_exec`. The worktree is kept.
fn landing(file: &str, merge_with: &str, merge_exec: &str) -> Workflow {
    Workflow::named("land")
        .top("git: { keep_worktree: always }")
        .stage(
            "work",
            &format!(
                "{}\nwith: {{ write: {file} }}\npermissions: {{ workspace: write, exec: [sleep] }}",
                uses_fixture("fixture_echo")
            ),
        )
        .stage(
            "merge",
            &format!(
                "uses: builtin:merge\nneeds: [work]\nwith: {merge_with}\n\
                 permissions: {{ workspace: read, exec: {merge_exec} }}\nretry: {{ max_attempts: 1 }}"
            ),
        )
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
    landing("feature.txt", "{ strategy: squash }", "[git]").write(&repo);
    let status = repo.git(&["status", "--porcelain", "--untracked-files=all"]);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Add the feature\n\nWith a body.")
        .run();
    r.succeeds();
    let run_id = r.run_id();
    // The change landed on main exactly once, as one squash commit with our trailer.
    assert_eq!(repo.merges_of(&run_id), 1);
    assert!(
        repo.git(&["show", "main:feature.txt"])
            .contains(&format!("{run_id}/work/1"))
    );
    let subject = repo.git(&["log", "-1", "--format=%s", "main"]);
    assert_eq!(subject.trim(), "Add the feature");
    // The work stage's change was committed on the run branch and recorded.
    let report = r.report();
    let commits = &report.stage("work").history[0].commits;
    assert_eq!(commits.len(), 1, "{:#}", report.raw);
    assert_eq!(
        repo.git(&["rev-parse", &report.meta.branch]).trim(),
        commits[0]
    );
    let merge_out = &report.stage("merge").outputs;
    assert_eq!(merge_out["merged"], true, "{merge_out}");
    assert_eq!(merge_out["reconciled"], false);
    // The user's checkout: same branch, same files, same status.
    assert_eq!(repo.git(&["branch", "--show-current"]).trim(), "wip");
    for (path, content) in files {
        repo.assert_file(&path, &content);
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
        landing("f.txt", &format!("{{ strategy: {strategy} }}"), "[git]").write(&repo);
        let r = repo.run(&["run", "workflow.yaml"]);
        assert_eq!(r.code(), 0, "{strategy}: {}", r.context());
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
        assert_eq!(r.report().stage("merge").outputs["strategy"], strategy);
    }
}

#[test]
fn a_conflict_fails_the_merge_with_the_files_and_leaves_the_base_alone() {
    let repo = TestRepo::new();
    repo.git(&["checkout", "-q", "-b", "elsewhere"]);
    // Hold the run after `work` is stored, move main with a conflicting change, then resume.
    landing("src/lib.txt", "{ strategy: squash }", "[git]").write(&repo);
    let mut engine = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .hold("after:2")
        .spawn();
    engine.wait_for_stderr("holding after storing transition 2");
    let run_id = engine.kill9().trim().to_string();
    repo.git(&["checkout", "-q", "main"]);
    repo.write("src/lib.txt", "main changed this line\n");
    repo.git(&["commit", "-q", "-am", "conflicting change"]);
    repo.git(&["checkout", "-q", "elsewhere"]);
    let main_before = repo.git(&["rev-parse", "main"]);

    repo.run(&["resume", &run_id]).exits(1);
    let report = repo.report(&run_id);
    let failure = report.stage("merge").failure();
    assert_eq!(failure.kind, "fatal", "{failure:?}");
    // It names the conflicting files and what to do.
    insta::assert_snapshot!("merge_conflict", failure.message);
    assert_eq!(
        failure.detail["conflicts"],
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
    landing("once.txt", "{ strategy: squash }", "[git]").write(&repo);
    // Transition 3 is "merge succeeded": the ref has moved, the result is not yet stored.
    let mut engine = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .hold("before:3")
        .spawn();
    engine.wait_for_stderr("holding before storing transition 3");
    let run_id = engine.kill9().trim().to_string();
    assert_eq!(
        repo.merges_of(&run_id),
        1,
        "the merge happened before the kill"
    );

    repo.run(&["resume", &run_id]).succeeds();
    assert_eq!(repo.merges_of(&run_id), 1, "merged exactly once");
    let report = repo.report(&run_id);
    let merge = report.stage("merge");
    assert_eq!(merge.outcomes(), ["interrupted", "succeeded"]);
    assert_eq!(merge.outputs["reconciled"], true);
}

#[test]
fn the_base_checked_out_with_uncommitted_work_is_never_moved_under_the_user() {
    let repo = TestRepo::new();
    // The stage writes README.md, which the user is editing on main without committing.
    repo.write("README.md", "# uncommitted edit on main\n");
    landing("README.md", "{ strategy: squash }", "[git]").write(&repo);
    let main_before = repo.git(&["rev-parse", "main"]);
    let r = repo.run(&["run", "workflow.yaml"]);
    r.exits(1);
    let report = r.report();
    let failure = report.stage("merge").failure();
    assert_eq!(failure.kind, "retryable", "{failure:?}");
    // It says the checkout has uncommitted changes to the merged files.
    insta::assert_snapshot!("merge_into_a_dirty_base", repo.normalise(&failure.message));
    assert_eq!(repo.git(&["rev-parse", "main"]), main_before);
    repo.assert_file("README.md", "# uncommitted edit on main\n");
}

#[test]
fn uncommitted_work_the_merge_does_not_touch_is_carried_along() {
    let repo = TestRepo::new();
    repo.write("README.md", "# uncommitted edit on main\n");
    landing("feature.txt", "{ strategy: squash }", "[git]").write(&repo);
    repo.run(&["run", "workflow.yaml"]).succeeds();
    assert!(repo.path().join("feature.txt").exists());
    repo.assert_file("README.md", "# uncommitted edit on main\n");
}

#[test]
fn a_clean_checkout_of_the_base_follows_the_merge() {
    let repo = TestRepo::new();
    landing("feature.txt", "{ strategy: squash }", "[git]").write(&repo);
    repo.git(&["add", "workflow.yaml"]);
    repo.git(&["commit", "-q", "-m", "workflow"]);
    repo.run(&["run", "workflow.yaml"]).succeeds();
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

/// A run of the PR flow against a fake `gh` and a local bare origin.
struct PrRun {
    repo: TestRepo,
    /// What `engine run` did.
    run: Run,
    /// The fake's calls, one line each.
    calls: String,
    /// The fake `gh` and its state, and the bare origin: removed when the test ends.
    _fake: tempfile::TempDir,
    _origin: tempfile::TempDir,
}

/// Runs the PR flow with `checks` (what `gh pr checks` prints) and `merge` (`merge` or `lie`).
fn pr_run(checks: &str, merge: &str) -> PrRun {
    let repo = TestRepo::new();
    let origin_dir = tempfile::tempdir().unwrap();
    let origin = origin_dir.path().join("origin.git");
    crate::support::repo::git_in(
        origin_dir.path(),
        &["init", "-q", "--bare", "-b", "main", "origin.git"],
    );
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
    landing(
        "pr.txt",
        "{ mode: pr, strategy: squash, pr: { poll_interval: 1s, checks_timeout: 5s } }",
        "[git, gh, sleep]",
    )
    .top(&format!("env: {{ GH_FAKE: {} }}", state.display()))
    .top(&format!(
        "sandbox: {{ write: [{}, {}] }}",
        origin.display(),
        state.display()
    ))
    .write(&repo);
    let run = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .path_first(&bin)
        .env("GH_FAKE", &state)
        .run()
        .into_run();
    let calls = std::fs::read_to_string(state.join("calls")).unwrap_or_default();
    PrRun {
        repo,
        run,
        calls,
        _fake: fake,
        _origin: origin_dir,
    }
}

#[test]
fn pr_mode_pushes_opens_waits_for_checks_merges_and_confirms() {
    let checks = r#"[{"name":"ci","state":"SUCCESS","bucket":"pass"}]"#;
    let pr = pr_run(checks, "merge");
    assert_eq!(
        pr.run.code(),
        0,
        "{}\ncalls:\n{}",
        pr.run.stderr(),
        pr.calls
    );
    let report = pr.repo.report(&pr.run.run_id());
    let out = &report.stage("merge").outputs;
    assert_eq!(out["pr_number"], 7, "{out}");
    assert!(pr.calls.contains("pr create"), "{}", pr.calls);
    assert!(pr.calls.contains("pr merge 7 --squash"), "{}", pr.calls);
    // The run branch was pushed to the (bare) origin.
    let branch = &report.meta.branch;
    assert!(
        pr.repo
            .git(&["ls-remote", "origin", branch])
            .contains(branch.as_str())
    );
}

#[test]
fn pr_mode_fails_on_failing_checks_and_on_a_merge_gh_did_not_really_do() {
    let failing = r#"[{"name":"ci","state":"FAILURE","bucket":"fail"}]"#;
    let pr = pr_run(failing, "merge");
    assert_eq!(pr.run.code(), 1, "{}", pr.run.stderr());
    let report = pr.repo.report(&pr.run.run_id());
    insta::assert_snapshot!("pr_checks_failed", report.stage("merge").failure().message);

    let passing = r#"[{"name":"ci","state":"SUCCESS","bucket":"pass"}]"#;
    let pr = pr_run(passing, "lie");
    assert_eq!(pr.run.code(), 1, "{}", pr.run.stderr());
    let report = pr.repo.report(&pr.run.run_id());
    insta::assert_snapshot!("pr_merge_not_done", report.stage("merge").failure().message);
}
