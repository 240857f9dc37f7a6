//! The commits and trees a merge starts from, resolved with one `git rev-parse` in the common
//! case: every git command goes through the sandbox, so asking once for everything saves a
//! process spawn per question. When that one command fails (a ref is missing, a commit is
//! unknown) the same questions are asked one by one, so the error says exactly what is wrong.

use engine_stage_sdk::StageError;

use crate::facts::RunFacts;
use crate::plumbing::is_oid;
use crate::runner::{Git, Runner};

/// Where the base and the run's branch stand when the merge starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tips {
    /// The base's current commit.
    pub old: String,
    /// The tree of `old`.
    pub old_tree: String,
    /// The run's branch head (the worktree's `HEAD`).
    pub head: String,
    /// The branch changes nothing: `head` is the run's base commit, or has its tree.
    pub unchanged: bool,
}

/// The run's branch head and whether it changes nothing, as PR mode needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The worktree's `HEAD` commit.
    pub head: String,
    /// The branch changes nothing: `head` is the run's base commit, or has its tree.
    pub unchanged: bool,
}

/// Resolves the base (`refs/heads/<base>`) and the branch head, with their trees.
pub fn resolve<R: Runner + ?Sized>(git: &Git<'_, R>, facts: &RunFacts) -> Result<Tips, StageError> {
    let base_ref = facts.base_ref();
    if is_oid(&facts.base_commit) {
        let revs = [
            format!("{base_ref}^{{commit}}"),
            "HEAD^{commit}".to_string(),
            format!("{base_ref}^{{tree}}"),
            "HEAD^{tree}".to_string(),
            format!("{}^{{tree}}", facts.base_commit),
        ];
        if let Some(ids) = git.resolve_all(&revs)?
            && let [old, head, old_tree, head_tree, base_tree] = ids.as_slice()
        {
            return Ok(Tips {
                unchanged: *head == facts.base_commit || head_tree == base_tree,
                old: old.clone(),
                old_tree: old_tree.clone(),
                head: head.clone(),
            });
        }
    }
    // One by one, in the order the errors should be reported.
    let old = git.commit(&base_ref)?;
    let head = git.commit("HEAD")?;
    let unchanged =
        head == facts.base_commit || git.tree(&head)? == git.tree(&facts.base_commit)?;
    let old_tree = git.tree(&old)?;
    Ok(Tips {
        old,
        old_tree,
        head,
        unchanged,
    })
}

/// Resolves the branch head and whether it changes anything against the run's base commit.
pub fn resolve_head<R: Runner + ?Sized>(
    git: &Git<'_, R>,
    facts: &RunFacts,
) -> Result<Head, StageError> {
    if is_oid(&facts.base_commit) {
        let revs = [
            "HEAD^{commit}".to_string(),
            "HEAD^{tree}".to_string(),
            format!("{}^{{tree}}", facts.base_commit),
        ];
        if let Some(ids) = git.resolve_all(&revs)?
            && let [head, head_tree, base_tree] = ids.as_slice()
        {
            return Ok(Head {
                unchanged: *head == facts.base_commit || head_tree == base_tree,
                head: head.clone(),
            });
        }
    }
    let head = git.commit("HEAD")?;
    let unchanged =
        head == facts.base_commit || git.tree(&head)? == git.tree(&facts.base_commit)?;
    Ok(Head { head, unchanged })
}
