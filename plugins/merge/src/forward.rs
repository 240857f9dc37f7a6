//! Bringing one checkout of the base from the commit it was at (`old`) to the base's new commit
//! (`new`) when the moved ref is already its `HEAD`, without ever touching the user's work.
//!
//! The fast way is git's two-way `read-tree -m -u old new`, which carries every change of the
//! user's along but refuses everything when one file the merge changes is in the way. Then it
//! goes path by path over the files the merge changes, so that the index never stays at `old`
//! (with `HEAD` at `new` that would show the merged files as staged deletions and reversions,
//! and `git commit -a` would undo the merge):
//!
//! - a file that still is exactly `old`'s (index and file) is brought to `new`'s (or deleted);
//! - a file with unstaged changes of the user's, or an untracked file where the merge adds one,
//!   keeps its content; only its index entry moves to `new` (so `git diff` then shows how the
//!   user's version differs from the merged one, and nothing is staged);
//! - a file whose staged content is neither `old`'s nor `new`'s is the user's staged work and is
//!   left entirely alone.
//!
//! The files kept are named in a warning.

use std::collections::BTreeSet;

use engine_stage_sdk::StageError;

use crate::plumbing::short;
use crate::runner::{Git, Runner, git_failure};

/// Paths per git command line (keeps argument lists far below the system's limit).
const CHUNK: usize = 200;

/// Brings the checkout at `path` from `old` to `new` (see the module documentation). Returns a
/// warning naming the files of the user's that were kept, `None` when it was brought over
/// completely.
pub fn bring_forward<R: Runner + ?Sized>(
    git: &Git<'_, R>,
    base: &str,
    path: &str,
    old: &str,
    new: &str,
) -> Result<Option<String>, StageError> {
    // A refused read-tree changes nothing. Stat-only changes (a file touched but not changed)
    // make it refuse: then the index's stat data is refreshed (whatever the result) and it is
    // tried once more.
    let read_tree = ["-C", path, "read-tree", "-m", "-u", old, new];
    if git.raw(&read_tree)?.success() {
        return Ok(None);
    }
    git.raw(&["-C", path, "update-index", "-q", "--refresh"])?;
    if git.raw(&read_tree)?.success() {
        return Ok(None);
    }
    let merged = changed(git, old, new)?;
    let unstaged = names(
        git,
        &["-C", path, "diff", "--name-only", "-z", "--no-renames"],
    )?;
    let staged_against = |commit: &str| {
        names(
            git,
            &[
                "-C",
                path,
                "diff-index",
                "--cached",
                "--name-only",
                "-z",
                commit,
            ],
        )
    };
    let staged_vs_old = staged_against(old)?;
    let staged_vs_new = staged_against(new)?;
    let all: Vec<&str> = merged.iter().map(|(p, _)| p.as_str()).collect();
    let untracked = names_of_paths(git, path, &["ls-files", "-z", "--others"], &all)?;

    let (mut update, mut remove, mut reindex, mut kept) = (vec![], vec![], vec![], vec![]);
    for (file, in_new) in &merged {
        let file = file.as_str();
        let index_at_old = !staged_vs_old.contains(file);
        let index_at_new = !staged_vs_new.contains(file);
        if !index_at_old && !index_at_new {
            kept.push(file);
        } else if unstaged.contains(file) || untracked.contains(file) {
            kept.push(file);
            reindex.push(file);
        } else if index_at_new {
            // Already brought over (e.g. by an earlier, interrupted sync): nothing to do.
        } else if *in_new {
            update.push(file);
        } else {
            remove.push(file);
        }
    }
    let checkout = ["checkout", new, "--"];
    run_on_paths(git, path, &checkout, &update)?;
    run_on_paths(
        git,
        path,
        &["rm", "-q", "-f", "--ignore-unmatch", "--"],
        &remove,
    )?;
    run_on_paths(git, path, &["reset", "-q", new, "--"], &reindex)?;
    if kept.is_empty() {
        return Ok(None);
    }
    Ok(Some(format!(
        "{base} was merged and the checkout at {path} brought to {}, except {} file(s) with \
         changes of yours that the merge also changes, left as you had them: {}. Compare them \
         with the merged version (`git -C {path} diff`) and keep what you want",
        short(new),
        kept.len(),
        kept.join(", ")
    )))
}

/// The files that differ between `old` and `new`, and whether each exists in `new`.
fn changed<R: Runner + ?Sized>(
    git: &Git<'_, R>,
    old: &str,
    new: &str,
) -> Result<Vec<(String, bool)>, StageError> {
    let text = git.ok(&[
        "diff-tree",
        "-r",
        "-z",
        "--no-commit-id",
        "--no-renames",
        "--name-status",
        old,
        new,
    ])?;
    let mut fields = text.split('\0').filter(|f| !f.is_empty());
    let mut files = Vec::new();
    while let (Some(status), Some(file)) = (fields.next(), fields.next()) {
        files.push((file.to_string(), !status.starts_with('D')));
    }
    Ok(files)
}

/// The NUL-separated names a git command prints.
fn names<R: Runner + ?Sized>(
    git: &Git<'_, R>,
    args: &[&str],
) -> Result<BTreeSet<String>, StageError> {
    let text = git.ok(args)?;
    Ok(text
        .split('\0')
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect())
}

/// [`names`] of `git -C <checkout> --literal-pathspecs <args> -- <paths>`, in chunks.
fn names_of_paths<R: Runner + ?Sized>(
    git: &Git<'_, R>,
    checkout: &str,
    args: &[&str],
    paths: &[&str],
) -> Result<BTreeSet<String>, StageError> {
    let mut found = BTreeSet::new();
    for chunk in paths.chunks(CHUNK) {
        let mut full = vec!["-C", checkout, "--literal-pathspecs"];
        full.extend_from_slice(args);
        full.push("--");
        full.extend_from_slice(chunk);
        found.extend(names(git, &full)?);
    }
    Ok(found)
}

/// Runs `git -C <checkout> --literal-pathspecs <args> <paths>` in chunks (nothing when there
/// are no paths); any failure is fatal, naming the command and git's answer.
fn run_on_paths<R: Runner + ?Sized>(
    git: &Git<'_, R>,
    checkout: &str,
    args: &[&str],
    paths: &[&str],
) -> Result<(), StageError> {
    for chunk in paths.chunks(CHUNK) {
        let mut full = vec!["-C", checkout, "--literal-pathspecs"];
        full.extend_from_slice(args);
        full.extend_from_slice(chunk);
        let out = git.raw(&full)?;
        if !out.success() {
            return Err(git_failure(&full, &out));
        }
    }
    Ok(())
}
