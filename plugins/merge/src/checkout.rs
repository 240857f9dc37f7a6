//! The base branch checked out somewhere (typically the user's own checkout): its uncommitted
//! work is never touched. After the ref moves the checkout is brought to the merged commit the
//! way `git checkout` would, carrying the user's uncommitted changes along; a checkout with
//! uncommitted changes to a file the merge changes stops the merge before the ref moves. When a
//! change of the user's gets in the way after all (made after that check, or while the engine
//! was down after a crash), the checkout is brought forward file by file and those files are
//! kept and named in a warning (see [`crate::forward`]): the index never stays behind the moved
//! `HEAD`.

use engine_stage_sdk::StageError;
use serde_json::json;

use crate::forward::bring_forward;
use crate::plumbing::{checkouts_of, parse_worktrees, short};
use crate::runner::{Git, Runner, git_failure};

/// How often `git worktree list` is tried: another run's `git worktree add` in the same
/// repository makes it fail for the few milliseconds its registration is half-written. A try
/// in the attempt's resident sandbox takes about 2 ms, and the sandbox has no clock to sleep
/// on (waiting would need `sleep` granted), so the window is covered by the number of tries.
const LIST_TRIES: usize = 20;

/// The worktrees (host paths) where `base_ref` is checked out.
pub fn find<R: Runner + ?Sized>(
    git: &Git<'_, R>,
    base_ref: &str,
) -> Result<Vec<String>, StageError> {
    let args = ["worktree", "list", "--porcelain"];
    let mut out = git.raw(&args)?;
    for _ in 1..LIST_TRIES {
        if out.success() {
            break;
        }
        out = git.raw(&args)?;
    }
    if !out.success() {
        let failure = git_failure(&args, &out);
        return Err(StageError::retryable(format!(
            "cannot list the worktrees to find where {base_ref} is checked out (tried \
             {LIST_TRIES} times): {}",
            failure.message
        ))
        .with_detail(failure.detail));
    }
    Ok(checkouts_of(&parse_worktrees(&out.stdout), base_ref))
}

/// Fails retryably, before anything moves, when a checkout of the base has staged or
/// unstaged changes to a tracked file that the merge (`old` -> `new`) changes. Changes to other
/// files are carried along by [`sync`] (e.g. a task file whose status the engine just wrote).
pub fn refuse_if_dirty<R: Runner + ?Sized>(
    git: &Git<'_, R>,
    base: &str,
    checkouts: &[String],
    old: &str,
    new: &str,
) -> Result<(), StageError> {
    // The files the merge changes, asked for only once a checkout has changes to compare.
    let mut merged_text: Option<String> = None;
    for path in checkouts {
        let args = [
            "--no-optional-locks",
            "-C",
            path.as_str(),
            "status",
            "--porcelain",
            "--untracked-files=no",
        ];
        let out = git.raw(&args)?;
        if !out.success() {
            let failure = git_failure(&args, &out);
            return Err(StageError::retryable(format!(
                "cannot tell whether the checkout of {base} at {path} has uncommitted changes, \
                 so {base} was not moved: {}",
                failure.message
            ))
            .with_detail(failure.detail));
        }
        let lines: Vec<&str> = out.stdout.lines().filter(|l| !l.is_empty()).collect();
        if lines.is_empty() {
            continue;
        }
        if merged_text.is_none() {
            let args = ["diff-tree", "-r", "--name-only", "--no-commit-id", old, new];
            merged_text = Some(git.ok(&args)?);
        }
        let merged: std::collections::BTreeSet<&str> = merged_text
            .as_deref()
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.is_empty())
            .collect();
        let changes: Vec<&str> = lines
            .into_iter()
            .filter(|l| changed_paths(l).iter().any(|p| merged.contains(p)))
            .collect();
        if !changes.is_empty() {
            return Err(StageError::retryable(format!(
                "{base} is checked out at {path} with uncommitted changes to tracked files the \
                 merge changes; commit or stash them there and the merge will be retried \
                 ({base} was not moved and nothing in {path} was touched)"
            ))
            .with_detail(json!({
                "checkout": path,
                "base_branch": base,
                "changes": changes,
            })));
        }
    }
    Ok(())
}

/// The paths of one `git status --porcelain` line (`XY path`, or `XY from -> to`).
fn changed_paths(line: &str) -> Vec<&str> {
    let rest = line.get(3..).unwrap_or_default();
    rest.split(" -> ").map(|p| p.trim_matches('"')).collect()
}

/// Brings each checkout's index and files from `old` to `new` (see [`bring_forward`]).
/// Returns whether every checkout was synced completely (`None` when there is none) and a
/// warning per checkout where something of the user's was kept or that could not be updated.
pub fn sync<R: Runner + ?Sized>(
    git: &Git<'_, R>,
    base: &str,
    checkouts: &[String],
    old: &str,
    new: &str,
) -> Result<(Option<bool>, Vec<String>), StageError> {
    if checkouts.is_empty() {
        return Ok((None, Vec::new()));
    }
    let mut warnings = Vec::new();
    for path in checkouts {
        warnings.extend(sync_one(git, base, path, old, new));
    }
    Ok((Some(warnings.is_empty()), warnings))
}

/// One checkout: the warning, if any. The merge has landed whatever happens here, so a failure
/// is a warning too, saying how to finish by hand.
fn sync_one<R: Runner + ?Sized>(
    git: &Git<'_, R>,
    base: &str,
    path: &str,
    old: &str,
    new: &str,
) -> Option<String> {
    match bring_forward(git, base, path, old, new) {
        Ok(warning) => warning,
        Err(e) => Some(format!(
            "{base} was merged, but the checkout at {path} could not be brought to {} ({}); \
             `git -C {path} status` shows where it stands, and `git -C {path} read-tree -m -u \
             {old} {new}` finishes it once nothing is in the way",
            short(new),
            e.message
        )),
    }
}

/// After a crash between moving the base and syncing its checkouts, brings each checkout of the
/// base that is not at its tip yet from the commit before the merge (`previous`) to the tip,
/// carrying the user's changes along (a kill -9 there, with the task file's status written in
/// the checkout, is the usual case). A checkout whose index already matches the tip counts as
/// synced; files of the user's in the way are kept and named in a warning.
pub fn resync<R: Runner + ?Sized>(
    git: &Git<'_, R>,
    base: &str,
    checkouts: &[String],
    previous: &str,
    tip: &str,
) -> Result<(Option<bool>, Vec<String>), StageError> {
    if checkouts.is_empty() {
        return Ok((None, Vec::new()));
    }
    let tip_tree = git.tree(tip)?;
    let mut warnings = Vec::new();
    for path in checkouts {
        git.raw(&["-C", path, "update-index", "-q", "--refresh"])?;
        let index = git.raw(&["-C", path, "write-tree"])?;
        if index.success() && index.stdout.trim() == tip_tree {
            continue;
        }
        warnings.extend(sync_one(git, base, path, previous, tip));
    }
    Ok((Some(warnings.is_empty()), warnings))
}
