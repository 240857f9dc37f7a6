//! The context of a local attempt: the stage id, the task, the git facts of the workspace and
//! the outputs of earlier stages, made the way a run makes them.

use std::collections::BTreeMap;
use std::path::Path;

use engine_core::Task;
use engine_git::{GitError, Repo};
use engine_runtime::RunGit;
use serde_json::{Value, json};

use super::LocalRunError;
use crate::driver::stage_input::RUN_FACTS;

/// The stage id: the one asked for (it must be a valid id), else the component's name made
/// one (lowercase; other characters become `-`), else `stage`.
pub(super) fn stage_id(asked: Option<&str>, component_name: &str) -> Result<String, LocalRunError> {
    if let Some(id) = asked {
        if !is_stage_id(id) {
            return Err(LocalRunError::Argument(format!(
                "--stage-id {}: a stage id is a lowercase letter, then lowercase letters, \
                 digits, '_' or '-'",
                crate::terminal::safe(id)
            )));
        }
        return Ok(id.to_string());
    }
    let made: String = component_name
        .trim()
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    Ok(if is_stage_id(&made) {
        made
    } else {
        "stage".to_string()
    })
}

/// `^[a-z][a-z0-9_-]*$`, the workflow schema's stage id.
fn is_stage_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// The task from its text the way `engine run --task` makes it (id `t` + the first 8 hex
/// digits of the text's sha256, title = first line), or, without text, the task `adhoc`
/// named after the component.
pub(super) fn task(text: Option<&str>, component_name: &str) -> Result<Task, LocalRunError> {
    let Some(text) = text else {
        return Ok(crate::tasks::adhoc::unnamed(component_name, Vec::new()));
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(LocalRunError::Argument("the task is empty".into()));
    }
    Ok(crate::tasks::adhoc::from_text(text, Vec::new()))
}

/// The git facts of the workspace's repository: the checked-out branch (the commit when HEAD
/// is detached) as both the branch and the base branch, `HEAD` (or `base`) as the base commit,
/// and the repository's root. `None` outside a git repository or in one without commits
/// (then `base` is an error).
pub(super) fn git_facts(
    workspace: &Path,
    base: Option<&str>,
) -> Result<Option<RunGit>, LocalRunError> {
    let git_error = |e: GitError| LocalRunError::Argument(format!("git: {e}"));
    let repo = match Repo::discover(workspace) {
        Ok(repo) => repo,
        Err(GitError::NotARepo(_)) => return no_repository(workspace, base),
        Err(e) => return Err(git_error(e)),
    };
    let head = match repo.rev_parse("HEAD^{commit}") {
        Ok(head) => head,
        Err(GitError::UnknownRevision(_)) => return no_repository(workspace, base),
        Err(e) => return Err(git_error(e)),
    };
    let branch = repo.current_branch().map_err(git_error)?;
    let branch = branch.unwrap_or_else(|| head.clone());
    let (base_branch, base_commit) = match base {
        None => (branch.clone(), head),
        Some(base) => {
            let commit = repo
                .rev_parse(&format!("{base}^{{commit}}"))
                .map_err(|e| match e {
                    GitError::UnknownRevision(_) | GitError::InvalidArgument { .. } => {
                        LocalRunError::Argument(format!(
                            "--base {}: no branch, tag or commit of that name in {}",
                            crate::terminal::safe(base),
                            repo.root().display()
                        ))
                    }
                    other => git_error(other),
                })?;
            let is_branch = repo.branch_exists(base).unwrap_or(false);
            (
                if is_branch {
                    base.to_string()
                } else {
                    branch.clone()
                },
                commit,
            )
        }
    };
    Ok(Some(RunGit {
        branch,
        base_branch,
        base_commit,
        repo_root: repo.root().display().to_string(),
    }))
}

/// No git facts: fine unless `--base` asked for a commit.
fn no_repository(workspace: &Path, base: Option<&str>) -> Result<Option<RunGit>, LocalRunError> {
    match base {
        None => Ok(None),
        Some(_) => Err(LocalRunError::Argument(format!(
            "--base needs the workspace to be in a git repository with commits; {} is not",
            workspace.display()
        ))),
    }
}

/// The outputs the stage sees: the given ones (each a JSON object) and the run's facts as
/// `@run` (unless given).
pub(super) fn outputs(
    given: &BTreeMap<String, Value>,
    run_id: &str,
    git: Option<&RunGit>,
) -> Result<BTreeMap<String, Value>, LocalRunError> {
    for (stage, value) in given {
        if !value.is_object() {
            return Err(LocalRunError::Argument(format!(
                "--output {}: a stage's outputs are a JSON object",
                crate::terminal::safe(stage)
            )));
        }
    }
    let mut outputs = given.clone();
    outputs
        .entry(RUN_FACTS.to_string())
        .or_insert_with(|| run_facts(run_id, git));
    Ok(outputs)
}

/// `@run` of a local run: the fields a run's facts have, for a run that is going on.
fn run_facts(run_id: &str, git: Option<&RunGit>) -> Value {
    json!({
        "id": run_id,
        "run_id": run_id,
        "status": "running",
        "failed_stage": null,
        "message": "",
        "stalled": false,
        "resumed": false,
        "cost_usd": 0.0,
        "cost_known": true,
        "duration_ms": 0,
        "branch": git.map(|g| g.branch.clone()).unwrap_or_default(),
        "base_branch": git.map(|g| g.base_branch.clone()).unwrap_or_default(),
        "workflow": "engine plugin run",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_ids_come_from_the_name_or_are_checked() {
        assert_eq!(stage_id(None, "Fixture Echo").unwrap(), "fixture-echo");
        assert_eq!(stage_id(None, "9lives").unwrap(), "stage");
        assert_eq!(stage_id(Some("my_stage"), "x").unwrap(), "my_stage");
        let refused = stage_id(Some("Bad.Id"), "x").unwrap_err().to_string();
        assert!(refused.starts_with("--stage-id Bad.Id: "), "{refused}");
    }

    #[test]
    fn the_task_is_derived_like_engine_run_derives_it() {
        let task = task(Some("  Fix the bug\nmore text\n"), "x").unwrap();
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            b"Fix the bug\nmore text",
        ));
        assert_eq!(task.id, format!("t{}", &digest[..8]));
        assert_eq!(task.title, "Fix the bug");
        assert_eq!(task.body, "Fix the bug\nmore text");
        assert_eq!(super::task(None, "gate").unwrap().title, "run of gate");
        assert!(super::task(Some("  \n"), "x").is_err());
    }

    #[test]
    fn outputs_must_be_objects_and_run_facts_are_added() {
        let mut given = BTreeMap::new();
        given.insert("build".to_string(), json!({"ok": true}));
        let outputs = outputs(&given, "local-1", None).unwrap();
        assert_eq!(outputs["build"], json!({"ok": true}));
        assert_eq!(outputs[RUN_FACTS]["run_id"], "local-1");
        given.insert("bad".to_string(), json!([1]));
        assert!(super::outputs(&given, "local-1", None).is_err());
    }
}
