//! Answering pull-request reviews (`engine reviews`): engine finds the open pull requests it
//! opened (`builtin:merge`, `mode: pr`) that have review feedback it has not answered, runs a
//! fix pipeline for each — a workflow whose task is that feedback, in a worktree starting from
//! the PR's head commit — pushes the fix to the PR's own branch (never forced) and replies to
//! each comment it answered. See docs/pr-reviews.md.
//!
//! - [`select`]: which PRs are engine's, which feedback is unanswered (pure);
//! - [`gh`]: the GitHub CLI; [`model`]: what it returns;
//! - [`text`]: the fix task and the replies;
//! - [`push`]: fetch and push, names checked;
//! - [`journal`]: the per-PR record that makes a killed invocation resumable;
//! - [`process`]: the whole thing, `finish`: the push and the replies after a fix run;
//!   [`outcome`]: what it reports.

mod error;
mod finish;
pub mod gh;
pub mod journal;
pub mod model;
pub mod outcome;
pub mod process;
pub mod push;
pub mod select;
pub mod text;

pub use error::ReviewsError;
pub use outcome::{PrOutcome, Verdict, exit_code};
pub use process::{Options, Reviews};

use engine_core::PluginRef;
use engine_workflow::LoadedWorkflow;

use crate::EngineError;

/// Refuses a fix pipeline that would merge: `engine reviews` pushes the fix to the PR's branch
/// itself, and a `builtin:merge` stage would land the unreviewed fix in the base branch.
pub fn check_fix_workflow(loaded: &LoadedWorkflow) -> Result<(), EngineError> {
    let merging: Vec<String> = loaded
        .stage_defs()
        .chain(loaded.finally_defs())
        .filter(|def| matches!(&def.spec.uses, PluginRef::Builtin { name } if name == "merge"))
        .map(|def| def.stage.id.clone())
        .collect();
    if merging.is_empty() {
        return Ok(());
    }
    Err(EngineError::Usage(format!(
        "{}: stage(s) {} use builtin:merge; the fix pipeline of `engine reviews` must not \
         merge (engine pushes the fix to the pull request's branch itself): give a workflow \
         without a merge stage (see docs/pr-reviews.md)",
        loaded.file,
        merging.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn a_fix_pipeline_may_not_merge() {
        let ok = engine_workflow::load_str(
            "fix.yaml",
            Path::new("."),
            "name: fix\nstages:\n  test: { uses: builtin:gate }\n",
        )
        .unwrap();
        assert!(check_fix_workflow(&ok).is_ok());
        let merging = engine_workflow::load_str(
            "fix.yaml",
            Path::new("."),
            "name: fix\nstages:\n  test: { uses: builtin:gate }\n  land: { uses: builtin:merge, \
             needs: [test], permissions: { workspace: read, exec: [git] } }\n",
        )
        .unwrap();
        let e = check_fix_workflow(&merging).unwrap_err().to_string();
        assert!(
            e.contains("fix.yaml: stage(s) land use builtin:merge"),
            "{e}"
        );
    }
}
