//! Builds the base's new commit for each strategy with plumbing only (`merge-tree`,
//! `commit-tree`): no checkout, index or working file is touched.

use engine_stage_sdk::StageError;
use serde_json::json;

use crate::config::Strategy;
use crate::facts::RunFacts;
use crate::identity::CommitTree;
use crate::plumbing::{
    AUTHOR_FORMAT, MergeTree, RUN_TRAILER, TASK_TRAILER, parse_authored, parse_merge_tree,
    with_trailers,
};
use crate::runner::{Git, Runner};
use crate::tips::Tips;

/// What the base should become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prepared {
    /// The base already has everything the branch changes.
    Nothing,
    /// Move the base to `new`; `commits` are the commits it gains, oldest first.
    Ready {
        /// The base's new commit.
        new: String,
        /// Commits the base gains (rebase: the replayed ones; ff-only: the branch's).
        commits: Vec<String>,
    },
}

/// The fatal failure of a conflict: the files, and the base commit it was computed against.
pub fn conflict(base: &str, old: &str, files: &[String], commit: Option<&str>) -> StageError {
    let mut detail = json!({ "conflicts": files, "base": old });
    if let Some(commit) = commit {
        detail["commit"] = json!(commit);
    }
    StageError::fatal(format!(
        "merge conflict with {base} in {} file(s): {}",
        files.len(),
        files.join(", ")
    ))
    .with_detail(detail)
}

/// Prepares the base's new commit from `tips` (the base's current commit and the branch's).
/// Runs after [`crate::local::reconcile`] found nothing, which for ff-only means `head` is
/// not in the base already.
pub fn prepare<R: Runner + ?Sized>(
    git: &Git<'_, R>,
    strategy: Strategy,
    facts: &RunFacts,
    message: &str,
    tips: &Tips,
) -> Result<Prepared, StageError> {
    let (old, head) = (tips.old.as_str(), tips.head.as_str());
    match strategy {
        Strategy::FfOnly => fast_forward(git, facts, old, head),
        Strategy::Squash | Strategy::Merge => {
            let tree = match merge_tree(git, &["--write-tree", old, head])? {
                MergeTree::Clean(tree) => tree,
                MergeTree::Conflicts(files) => {
                    return Err(conflict(&facts.base_branch, old, &files, None));
                }
            };
            if tree == tips.old_tree {
                return Ok(Prepared::Nothing);
            }
            let message = with_trailers(
                message,
                &[(RUN_TRAILER, &facts.run_id), (TASK_TRAILER, &facts.task_id)],
            );
            let mut args = vec!["commit-tree", tree.as_str(), "-p", old];
            if strategy == Strategy::Merge {
                args.extend(["-p", head]);
            }
            args.extend(["-m", message.as_str()]);
            let new = CommitTree::new(false).run(git, &args, &[])?;
            Ok(Prepared::Ready {
                commits: vec![new.clone()],
                new,
            })
        }
        Strategy::Rebase => rebase(git, facts, tips),
    }
}

fn merge_tree<R: Runner + ?Sized>(
    git: &Git<'_, R>,
    args: &[&str],
) -> Result<MergeTree, StageError> {
    let mut all = vec!["merge-tree", "--name-only", "--no-messages", "-z"];
    all.extend_from_slice(args);
    let out = git.raw(&all)?;
    parse_merge_tree(&out)
        .map_err(|e| StageError::fatal(e).with_detail(json!({ "stderr": out.stderr })))
}

fn fast_forward<R: Runner + ?Sized>(
    git: &Git<'_, R>,
    facts: &RunFacts,
    old: &str,
    head: &str,
) -> Result<Prepared, StageError> {
    // `head` is not in `old` (reconciling said so): fast-forward or nothing.
    if !git.is_ancestor(old, head)? {
        return Err(StageError::fatal(format!(
            "not a fast-forward: {} moved; use squash/merge/rebase",
            facts.base_branch
        ))
        .with_detail(json!({ "base": old, "head": head })));
    }
    let range = format!("{old}..{head}");
    let commits = git.ok(&["rev-list", "--reverse", "--topo-order", &range])?;
    Ok(Prepared::Ready {
        new: head.to_string(),
        commits: commits.lines().map(str::to_string).collect(),
    })
}

/// Replays the branch's commits (those after its merge base with `old`) on `old`, keeping
/// author and message and adding the `Engine-Run` trailer to each. Commits that become empty
/// are dropped; merge commits are refused.
fn rebase<R: Runner + ?Sized>(
    git: &Git<'_, R>,
    facts: &RunFacts,
    tips: &Tips,
) -> Result<Prepared, StageError> {
    let (old, head) = (tips.old.as_str(), tips.head.as_str());
    let fork = git.raw(&["merge-base", old, head])?;
    if !fork.success() {
        return Err(StageError::fatal(format!(
            "{} and {} have no common history",
            facts.branch, facts.base_branch
        )));
    }
    let fork = fork.stdout.trim().to_string();
    let range = format!("{fork}..{head}");
    let merges = git.ok(&["rev-list", "--merges", &range])?;
    if !merges.trim().is_empty() {
        let merges: Vec<&str> = merges.lines().collect();
        return Err(StageError::fatal(format!(
            "rebase cannot replay merge commits: {} has {} merge commit(s); use squash or merge",
            facts.branch,
            merges.len()
        ))
        .with_detail(json!({ "merge_commits": merges })));
    }
    let list = git.ok(&["rev-list", "--reverse", "--topo-order", &range])?;
    let mut parent = old.to_string();
    // The tree of `parent`: known from the start, then the tree each new commit was made of.
    let mut parent_tree = tips.old_tree.clone();
    let mut created = Vec::new();
    // Each replayed commit keeps its author; the committer falls back when git has none.
    let mut commit_tree = CommitTree::new(true);
    for commit in list.lines().map(str::trim).filter(|c| !c.is_empty()) {
        let first_parent = format!("{commit}^");
        let args = [
            "--write-tree",
            "--merge-base",
            &first_parent,
            &parent,
            commit,
        ];
        let tree = match merge_tree(git, &args)? {
            MergeTree::Clean(tree) => tree,
            MergeTree::Conflicts(files) => {
                return Err(conflict(&facts.base_branch, old, &files, Some(commit)));
            }
        };
        if tree == parent_tree {
            continue;
        }
        let shown = git.ok(&["show", "-s", "--date=raw", AUTHOR_FORMAT, commit])?;
        let authored = parse_authored(&shown).ok_or_else(|| {
            StageError::fatal(format!("cannot read the author of commit {commit}"))
        })?;
        let message = with_trailers(&authored.message, &[(RUN_TRAILER, &facts.run_id)]);
        let env = vec![
            ("GIT_AUTHOR_NAME".to_string(), authored.name),
            ("GIT_AUTHOR_EMAIL".to_string(), authored.email),
            ("GIT_AUTHOR_DATE".to_string(), authored.date),
        ];
        let args = ["commit-tree", &tree, "-p", &parent, "-m", &message];
        parent = commit_tree.run(git, &args, &env)?;
        parent_tree = tree;
        created.push(parent.clone());
    }
    if created.is_empty() {
        return Ok(Prepared::Nothing);
    }
    Ok(Prepared::Ready {
        new: parent,
        commits: created,
    })
}
