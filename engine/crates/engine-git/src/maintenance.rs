//! git's automatic maintenance after engine's commits: once every [`COMMITS_PER_MAINTENANCE`]
//! commits in a repository instead of after each one.
//!
//! After every commit, `git commit` starts `git maintenance run --auto` (two more processes:
//! the check, and the copy of itself that detaches when there is work), about 2.5 ms a task on
//! a two-core machine for a check that almost always finds nothing to do. engine's commits skip
//! it (`-c maintenance.auto=false`) except the first one a process makes in a repository and
//! every [`COMMITS_PER_MAINTENANCE`]th after it; those run it exactly as `git commit` does, so
//! the user's own configuration (`maintenance.auto`, `gc.auto`, `gc.autoDetach`, the
//! maintenance tasks) decides what happens. Loose objects therefore pile up by at most that
//! many commits' worth past git's threshold before the next check packs them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};

/// How many commits in one repository share one automatic maintenance check.
pub(crate) const COMMITS_PER_MAINTENANCE: u64 = 16;

/// Commits made by this process, per common git directory.
static COMMITS: LazyLock<Mutex<HashMap<PathBuf, u64>>> = LazyLock::new(Mutex::default);

/// Counts a commit about to be made in the repository whose common git directory is
/// `common_dir`, and says whether it is one that runs git's automatic maintenance.
pub(crate) fn commit_runs_maintenance(common_dir: &Path) -> bool {
    let mut commits = COMMITS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let made = commits.entry(common_dir.to_path_buf()).or_insert(0);
    let runs = made.is_multiple_of(COMMITS_PER_MAINTENANCE);
    *made += 1;
    runs
}

/// The configuration a commit is made with: none for one that runs maintenance, else
/// `maintenance.auto` switched off for that one command.
pub(crate) fn commit_config(runs_maintenance: bool) -> &'static [&'static str] {
    if runs_maintenance {
        &[]
    } else {
        &["-c", "maintenance.auto=false"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Repo;
    use crate::test_repo::{TestRepo, git};

    /// How many packs the repository has.
    fn packs(root: &Path) -> usize {
        std::fs::read_dir(root.join(".git/objects/pack"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "pack")
            })
            .count()
    }

    /// Makes two more packs, each of one new commit on the checked-out branch (made without
    /// maintenance, which would repack them at once).
    fn two_more_packs(t: &TestRepo, tag: &str) {
        for n in 0..2 {
            let file = format!("packed-{tag}-{n}.txt");
            std::fs::write(t.root.join(&file), "packed\n").unwrap();
            git(&t.root, &["add", &file]);
            git(
                &t.root,
                &["-c", "maintenance.auto=false", "commit", "-q", "-m", &file],
            );
            git(&t.root, &["repack", "-q"]);
        }
    }

    /// With `gc.autoPackLimit=1`, git's automatic maintenance repacks a repository of two or
    /// more packs into one (in the foreground: `gc.autoDetach=false`): whether it ran after a
    /// commit shows in the number of packs.
    #[test]
    fn only_the_first_of_a_batch_of_engine_commits_runs_git_s_maintenance() {
        let t = TestRepo::new("main");
        git(&t.root, &["config", "gc.autoPackLimit", "1"]);
        git(&t.root, &["config", "gc.autoDetach", "false"]);
        let repo = Repo::discover(&t.root).unwrap();
        let base = repo.rev_parse("HEAD").unwrap();
        let wt = t.root.parent().unwrap().join("wt");
        repo.add_worktree(&wt, "engine/maintenance", &base).unwrap();
        let commit = |n: u64| {
            std::fs::write(wt.join(format!("f{n}.txt")), format!("{n}\n")).unwrap();
            repo.commit_all(&wt, &format!("commit {n}"), None, None)
                .unwrap()
                .unwrap()
        };
        two_more_packs(&t, "a");
        assert!(packs(&t.root) >= 2);
        commit(0);
        assert_eq!(packs(&t.root), 1, "the first commit ran maintenance");
        for n in 1..COMMITS_PER_MAINTENANCE {
            two_more_packs(&t, &format!("b{n}"));
            commit(n);
            assert!(packs(&t.root) >= 2, "commit {n} ran maintenance");
        }
        commit(COMMITS_PER_MAINTENANCE);
        assert_eq!(packs(&t.root), 1, "the next batch's first commit ran it");
        // The user's own `maintenance.auto=false` still switches it off entirely.
        git(&t.root, &["config", "maintenance.auto", "false"]);
        two_more_packs(&t, "c");
        for n in 0..COMMITS_PER_MAINTENANCE {
            commit(COMMITS_PER_MAINTENANCE + 1 + n);
        }
        assert!(packs(&t.root) >= 2, "maintenance ran although switched off");
    }

    #[test]
    fn the_first_commit_and_every_sixteenth_after_it_run_maintenance() {
        let dir = PathBuf::from("/nonexistent/maintenance-test/.git");
        let runs: Vec<bool> = (0..=2 * COMMITS_PER_MAINTENANCE)
            .map(|_| commit_runs_maintenance(&dir))
            .collect();
        let at: Vec<usize> = runs
            .iter()
            .enumerate()
            .filter_map(|(i, runs)| runs.then_some(i))
            .collect();
        assert_eq!(at, vec![0, 16, 32]);
        let other = PathBuf::from("/nonexistent/another-repo/.git");
        assert!(commit_runs_maintenance(&other), "counted per repository");
        assert!(commit_config(true).is_empty());
        assert_eq!(commit_config(false), ["-c", "maintenance.auto=false"]);
    }
}
