//! The worktree pool (`git.worktree_pool`) through the real binary on real repositories: an
//! ended run's worktree is parked and the next run takes the same directory, which holds
//! exactly the next run's base commit (whatever the earlier run left: changed, staged,
//! untracked and ignored files, a nested repository with a hook); a failed run's worktree stays
//! kept; two runs at once never share one; a kill -9 in the middle of a claim or a park loses
//! nothing and the next run is correct; `worktree_pool: 0` is the behaviour without a pool; the
//! user's checkout is untouched throughout.

use std::fmt::Write as _;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::support::{Handshake, TestRepo, assert_no_process_under};

/// The check every run starts with (stage `look`): the worktree holds exactly the files of its
/// commit (nothing untracked, ignored, nested or left empty), its index is clean.
const LOOK: &str = r#"  look:
    uses: builtin:gate
    with:
      commands:
        - sh -c 'test -z "$(GIT_OPTIONAL_LOCKS=0 git status --porcelain --ignored)"'
        - sh -c 'test "$(find . -name .git -prune -o -type f -print | sed s,^./,, | sort)" = "$(git ls-files | sort)"'
        - sh -c 'test -z "$(find . -name .git -prune -o -type d -empty -print)"'
    permissions: { workspace: read, exec: [sh, git, find, sed, sort] }
    retry: { max_attempts: 1 }
"#;

/// What a run leaves behind (stage `plant`, after `look`): a changed, executable
/// tracked file, a staged file, an `.envrc`, an ignored build cache, a nested repository with
/// a hook.
const PLANT: &str = r"  plant:
    uses: builtin:gate
    needs: [look]
    with:
      commands:
        - sh -c 'echo changed >> README.md && chmod +x README.md && echo export EVIL=1 > .envrc'
        - sh -c 'mkdir -p target/debug nested/.git/hooks && echo cache > target/debug/cache'
        - sh -c 'echo hook > nested/.git/hooks/post-checkout && echo x > nested/file'
        - sh -c 'echo staged > staged.txt && git add staged.txt'
    permissions: { workspace: write, exec: [sh, git, mkdir, chmod] }
    retry: { max_attempts: 1 }
";

/// `look`, then `plant`, then `last` running `last` (e.g. `true`, `false`); `git:` as given.
fn workflow(git: &str, last: &str) -> String {
    format!(
        "name: pooled\n{git}\nstages:\n{LOOK}{PLANT}  last:\n    uses: builtin:gate\n    \
         needs: [plant]\n    with: {{ commands: [\"{last}\"] }}\n    permissions: {{ workspace: \
         read, exec: [\"{last}\"] }}\n    retry: {{ max_attempts: 1 }}\n"
    )
}

/// A repository ignoring `target/`, with `workflow.yaml` written (not committed).
fn repo_with(workflow_text: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.write(".gitignore", "target/\n")
        .commit_all("ignore target/");
    repo.workflow(workflow_text);
    repo
}

/// The idle worktrees in the repository's pool (`.engine/worktree-pool/<key>/<name>/`).
fn pooled(repo: &TestRepo) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(keys) = std::fs::read_dir(repo.path().join(".engine/worktree-pool")) else {
        return found;
    };
    for key in keys.flatten() {
        for entry in std::fs::read_dir(key.path()).unwrap().flatten() {
            // Directories only: `<name>.index` is engine's copy of a worktree's index.
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                found.push(entry.path());
            }
        }
    }
    found.sort();
    found
}

fn inode(path: &Path) -> u64 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .ino()
}

/// `engine run workflow.yaml --task TEXT`, which must succeed; returns the run id.
#[track_caller]
fn run_task(repo: &TestRepo, text: &str) -> String {
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task(text)
        .run();
    r.succeeds();
    r.run_id()
}

/// Everything of the user's checkout a run must not change (engine's own state directory,
/// `.engine/`, left out).
fn checkout(repo: &TestRepo) -> (String, String, String, String) {
    let status = repo.git(&[
        "status",
        "--porcelain",
        "--ignored",
        "--untracked-files=all",
    ]);
    (
        status
            .lines()
            .filter(|l| !l.starts_with("!! .engine/"))
            .flat_map(|l| [l, "\n"])
            .collect(),
        repo.git(&["rev-parse", "HEAD"]),
        repo.git(&["symbolic-ref", "HEAD"]),
        repo.git(&["ls-files", "--stage"]),
    )
}

/// The run's branch holds exactly `files` plus what `plant` committed.
#[track_caller]
fn assert_branch_holds(repo: &TestRepo, run_id: &str, files: &[&str]) {
    let branch = repo.report(run_id).meta.branch;
    let listed = repo.git(&["ls-tree", "-r", "--name-only", &branch]);
    let mut expected: Vec<&str> = files.to_vec();
    expected.extend([".envrc", "nested/file", "staged.txt"]);
    expected.sort_unstable();
    let mut got: Vec<&str> = listed.lines().collect();
    got.sort_unstable();
    assert_eq!(got, expected, "branch {branch}");
}

#[test]
fn the_next_run_reuses_the_directory_and_sees_exactly_its_base() {
    let repo = repo_with(&workflow("", "true"));
    let before = checkout(&repo);
    let first = run_task(&repo, "first");
    let idle = pooled(&repo);
    assert_eq!(idle.len(), 1, "{idle:?}");
    let first_inode = inode(&idle[0]);
    // Parked, not registered: git lists only the user's checkout, the branch is free.
    let list = repo.git(&["worktree", "list", "--porcelain"]);
    assert_eq!(list.matches("worktree ").count(), 1, "{list}");
    assert!(!repo.path().join(".engine/worktrees").join(&first).exists());
    assert_eq!(checkout(&repo), before);

    // The base moves on without src/lib.txt.
    repo.git(&["rm", "-q", "src/lib.txt"]);
    repo.git(&["commit", "-q", "-m", "drop lib"]);
    let before = checkout(&repo);
    let second = run_task(&repo, "second");
    // `look` passed: the worktree held exactly the new base, its index clean.
    assert_eq!(repo.report(&second).status(), "succeeded");
    assert_branch_holds(&repo, &second, &[".gitignore", "README.md"]);
    let idle = pooled(&repo);
    assert_eq!(idle.len(), 1, "{idle:?}");
    assert!(idle[0].ends_with(&second), "{idle:?}");
    assert_eq!(inode(&idle[0]), first_inode, "the same directory, reused");
    assert_eq!(checkout(&repo), before);
    // The first run's work is on its branch, which can be deleted (checked out nowhere).
    assert_branch_holds(&repo, &first, &[".gitignore", "README.md", "src/lib.txt"]);
    let branch = repo.report(&first).meta.branch;
    repo.git(&["branch", "-D", &branch]);
    repo.git(&["fsck", "--no-progress"]);
}

#[test]
fn a_failed_runs_worktree_stays_kept_and_pool_size_zero_parks_nothing() {
    // keep_worktree on_failure (the default): the failed run's worktree is kept, not parked.
    let repo = repo_with(&workflow("", "false"));
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("fails")
        .run();
    assert_ne!(r.code(), 0, "{}", r.context());
    let failed = r.run_id();
    let kept = repo.path().join(".engine/worktrees").join(&failed);
    assert!(kept.join(".envrc").exists(), "kept for inspection");
    assert!(kept.join("target/debug/cache").exists());
    assert!(pooled(&repo).is_empty());

    // worktree_pool: 0: every run checks its worktree out anew and removes it at the end.
    let repo = repo_with(&workflow("git: { worktree_pool: 0 }", "true"));
    let before = checkout(&repo);
    let first = run_task(&repo, "first");
    assert!(pooled(&repo).is_empty());
    assert!(!repo.path().join(".engine/worktrees").join(&first).exists());
    let second = run_task(&repo, "second");
    assert!(pooled(&repo).is_empty());
    assert_eq!(repo.report(&second).status(), "succeeded");
    let list = repo.git(&["worktree", "list", "--porcelain"]);
    assert_eq!(list.matches("worktree ").count(), 1, "{list}");
    assert_eq!(checkout(&repo), before);
}

/// Tasks `from..=to` of a spec-runner tasks.md, each `P1 | TODO`.
fn tasks(from: u32, to: u32) -> String {
    let mut text = String::from("# Tasks\n");
    for i in from..=to {
        let _ = write!(text, "\n### TASK-{i}: Task {i}\nP1 | TODO\n");
    }
    text
}

/// A workflow over spec/tasks.md whose one stage marks its worktree with its task id, waits
/// for `hold`'s go (announcing the task id), then checks that its mark is the only one.
fn marking(hold: &Handshake) -> String {
    format!(
        r#"
name: marking
tasks: {{ source: tasks-md, path: spec/tasks.md, permissions: {{ workspace: write }} }}
stages:
  mark:
    uses: builtin:gate
    with: {{ commands: ["sh -c 'touch mark-{{{{ task.id }}}} && {wait} && test \"$(ls mark-*)\" = mark-{{{{ task.id }}}}'"] }}
    permissions: {{ workspace: write, exec: [sh, touch, ls] }}
    retry: {{ max_attempts: 1 }}
    {grant}
"#,
        wait = hold.announce_and_wait("{{ task.id }}"),
        grant = hold.grant(),
    )
}

/// `engine run --all --parallel 2` over the ready tasks, released once both `ids` run at once.
#[track_caller]
fn two_at_once(repo: &TestRepo, ids: [&str; 2]) {
    let hold = Handshake::new();
    repo.write("marking.yaml", &marking(&hold));
    let mut session = repo
        .engine()
        .args(["run", "marking.yaml", "--all", "--parallel", "2"])
        .spawn();
    for id in ids {
        session.wait_for_file(&hold.started_file(id));
    }
    hold.release();
    let (code, _) = session.wait();
    assert_eq!(code, 0, "{}", session.seen_stderr());
}

#[test]
fn two_runs_at_once_never_share_a_worktree() {
    let repo = TestRepo::new();
    repo.write("spec/tasks.md", &tasks(1, 2))
        .commit_all("tasks");
    two_at_once(&repo, ["TASK-1", "TASK-2"]);
    let idle = pooled(&repo);
    assert_eq!(idle.len(), 2, "both parked: {idle:?}");
    let mut inodes: Vec<u64> = idle.iter().map(|p| inode(p)).collect();
    inodes.sort_unstable();

    repo.write("spec/tasks.md", &tasks(3, 4))
        .commit_all("more tasks");
    two_at_once(&repo, ["TASK-3", "TASK-4"]);
    let idle = pooled(&repo);
    let mut again: Vec<u64> = idle.iter().map(|p| inode(p)).collect();
    again.sort_unstable();
    assert_eq!(again, inodes, "each run took one of the two: {idle:?}");
    for run in repo.runs() {
        assert_eq!(run["status"], "succeeded", "{run}");
    }
}

/// Starts `engine run` of a new task holding at `point`, kills it with SIGKILL there.
#[track_caller]
fn kill_at(repo: &TestRepo, point: &str, task: &str) {
    let mut engine = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task(task)
        .hold(&format!("at:{point}"))
        .spawn();
    engine.wait_for_stderr(&format!("holding at {point}"));
    engine.kill9();
    assert_no_process_under(repo.path());
}

#[test]
fn killed_while_claiming_then_resumed() {
    let repo = repo_with(&workflow("", "true"));
    let before = checkout(&repo);
    let first = run_task(&repo, "first");
    assert_eq!(pooled(&repo).len(), 1);
    kill_at(&repo, "pool-claim", "second");
    let second = repo.run_ids()[0].clone();
    assert_ne!(second, first);
    let worktree = repo.path().join(".engine/worktrees").join(&second);
    assert!(
        worktree.join(".envrc").exists(),
        "moved in with the first run's files, not switched yet"
    );
    let r = repo.run(&["resume", &second]);
    r.succeeds();
    r.stderr_has("being claimed from the worktree pool");
    // `look` passed: the worktree made again holds exactly the base.
    assert_eq!(repo.report(&second).status(), "succeeded");
    assert_branch_holds(&repo, &second, &[".gitignore", "README.md", "src/lib.txt"]);
    assert_branch_holds(&repo, &first, &[".gitignore", "README.md", "src/lib.txt"]);
    assert!(!worktree.exists());
    assert_eq!(
        pooled(&repo).len(),
        1,
        "the resumed run parked its worktree"
    );
    let list = repo.git(&["worktree", "list", "--porcelain"]);
    assert_eq!(list.matches("worktree ").count(), 1, "{list}");
    assert_eq!(checkout(&repo), before);
    repo.git(&["gc", "--quiet"]);
}

#[test]
fn killed_while_parking_then_the_next_run() {
    let repo = repo_with(&workflow("", "true"));
    let before = checkout(&repo);
    kill_at(&repo, "pool-park", "first");
    let first = repo.run_ids()[0].clone();
    assert_eq!(repo.report(&first).status(), "succeeded");
    // In the pool already; its registration still there, naming a place that is gone.
    assert_eq!(pooled(&repo).len(), 1);
    assert!(repo.path().join(".git/worktrees").join(&first).exists());

    let second = run_task(&repo, "second");
    assert_eq!(repo.report(&second).status(), "succeeded");
    assert_branch_holds(&repo, &second, &[".gitignore", "README.md", "src/lib.txt"]);
    assert_branch_holds(&repo, &first, &[".gitignore", "README.md", "src/lib.txt"]);
    assert!(!repo.path().join(".git/worktrees").join(&first).exists());
    let idle = pooled(&repo);
    assert_eq!(idle.len(), 1, "{idle:?}");
    assert!(idle[0].ends_with(&second));
    let list = repo.git(&["worktree", "list", "--porcelain"]);
    assert_eq!(list.matches("worktree ").count(), 1, "{list}");
    assert_eq!(checkout(&repo), before);
    // `engine gc` forgets the first run's record of a worktree that is gone.
    repo.run(&["gc"]).succeeds();
    assert_eq!(repo.report(&first).meta.worktree, None);
    assert_eq!(pooled(&repo).len(), 1, "gc leaves the pool alone");
}
