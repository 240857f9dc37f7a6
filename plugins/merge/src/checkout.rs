//! The base branch checked out somewhere (typically the user's own checkout): its uncommitted
//! work is never touched. After the ref moves the checkout is brought to the merged commit the
//! way `git checkout` would, carrying the user's uncommitted changes along; a checkout with
//! uncommitted changes to a file the merge changes stops the merge before the ref moves.

use engine_stage_sdk::StageError;
use serde_json::json;

use crate::plumbing::{checkouts_of, parse_worktrees, short};
use crate::runner::{Git, Runner, git_failure};

/// The worktrees (host paths) where `base_ref` is checked out.
pub fn find<R: Runner + ?Sized>(
    git: &Git<'_, R>,
    base_ref: &str,
) -> Result<Vec<String>, StageError> {
    let list = git.ok(&["worktree", "list", "--porcelain"])?;
    Ok(checkouts_of(&parse_worktrees(&list), base_ref))
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
    if checkouts.is_empty() {
        return Ok(());
    }
    let merged = git.ok(&["diff-tree", "-r", "--name-only", "--no-commit-id", old, new])?;
    let merged: std::collections::BTreeSet<&str> =
        merged.lines().filter(|l| !l.is_empty()).collect();
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
        let changes: Vec<&str> = out
            .stdout
            .lines()
            .filter(|l| !l.is_empty())
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

/// Brings each checkout's index and files from `old` to `new` with a two-way
/// `read-tree -m -u`, which refuses rather than overwrite untracked files. Returns whether
/// every checkout was synced (`None` when there is none) and a warning per refusal.
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
        // Stat-only changes would make read-tree refuse; the result does not matter.
        git.raw(&["-C", path, "update-index", "-q", "--refresh"])?;
        let out = git.raw(&["-C", path, "read-tree", "-m", "-u", old, new])?;
        if !out.success() {
            let reason = out.stderr.trim().replace('\n', " ");
            warnings.push(format!(
                "{base} was merged, but the checkout at {path} was not updated to {}: {reason}; \
                 its files still match {}. Move the files git names out of the way and run \
                 `git -C {path} read-tree -m -u {old} {new}`",
                short(new),
                short(old)
            ));
        }
    }
    Ok((Some(warnings.is_empty()), warnings))
}

/// After a crash between moving the base and syncing its checkouts, brings a checkout left at
/// the previous commit to the merged one, but only when its index is exactly the previous
/// commit's tree and it has no unstaged changes (so nothing of the user's can be in the way).
/// A checkout already matching the base's tip counts as synced; any other is left alone with
/// a warning.
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
    let previous_tree = git.tree(previous)?;
    let mut warnings = Vec::new();
    for path in checkouts {
        git.raw(&["-C", path, "update-index", "-q", "--refresh"])?;
        let index = git.raw(&["-C", path, "write-tree"])?;
        let index_tree = index.stdout.trim();
        if index.success() && index_tree == tip_tree {
            continue;
        }
        let unstaged = git.raw(&["-C", path, "diff", "--quiet"])?;
        if index.success() && index_tree == previous_tree && unstaged.success() {
            let (_, mut more) = sync(git, base, std::slice::from_ref(path), previous, tip)?;
            warnings.append(&mut more);
            continue;
        }
        warnings.push(format!(
            "the checkout of {base} at {path} does not match {base}'s commit {} and was left \
             alone; check it with `git -C {path} status`",
            short(tip)
        ));
    }
    Ok((Some(warnings.is_empty()), warnings))
}
