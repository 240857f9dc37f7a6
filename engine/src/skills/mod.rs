//! The project's rules for agents and reviewers: the constitution (`constitution:`) and skills
//! (`skills:`), read from the run's base commit and given to every stage attempt as the
//! outputs of the pseudo stage [`SPEC_OUTPUTS`] (`@spec`). `builtin:agent` puts them in its
//! prompt, `builtin:review` in every reviewer's checklist, `builtin:gate` runs the skill's gates
//! whose pattern the change touched. See docs/constitution.md and docs/skills.md.

mod blob;
pub mod constitution;
pub mod expand;
pub mod files;
pub mod selection;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};

use engine_core::Task;
use engine_workflow::{RulesSettings, Skill};
use serde_json::{Value, json};

/// The pseudo stage whose outputs carry the constitution and the task's skill.
pub const SPEC_OUTPUTS: &str = "@spec";

/// The largest constitution read, in bytes.
pub const MAX_CONSTITUTION_BYTES: u64 = 32 * 1024;

/// Changed files listed per gate in `@spec` (the count is always complete).
const MAX_LISTED_FILES: usize = 20;

/// Why the constitution or a skill cannot be given to a stage.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SpecError {
    /// The file is larger than its cap.
    #[error(
        "{path} is {size} bytes at the run's base commit; the limit is {max} bytes: shorten it"
    )]
    TooLarge {
        /// The path in the repository.
        path: String,
        /// Its size.
        size: u64,
        /// The cap.
        max: u64,
    },
    /// A directory, a symlink or a submodule where a file was expected.
    #[error("{path} is not a regular file at the run's base commit")]
    NotAFile {
        /// The path in the repository.
        path: String,
    },
    /// Not UTF-8.
    #[error("{path} is not valid UTF-8 (first invalid byte at offset {offset}); save it as UTF-8")]
    NotUtf8 {
        /// The path in the repository.
        path: String,
        /// The byte offset of the first invalid byte.
        offset: usize,
    },
    /// `constitution:` names a file the base commit does not have.
    #[error(
        "the workflow's `constitution: {path}` does not exist at the run's base commit {commit}: \
         commit it, or remove `constitution:` (or write `constitution: false`)"
    )]
    MissingConstitution {
        /// The path in the repository.
        path: String,
        /// The base commit (short).
        commit: String,
    },
    /// The task selects a skill that has no file.
    #[error(
        "task {task} selects skill {name:?} ({from}) but {path} does not exist at the run's base \
         commit {commit}"
    )]
    MissingSkill {
        /// The task id.
        task: String,
        /// The skill's name.
        name: String,
        /// Where the selection came from.
        from: String,
        /// The file looked for.
        path: String,
        /// The base commit (short).
        commit: String,
    },
    /// The selected name is not a skill name.
    #[error("task {task} selects skill {name:?} ({from}): {message}")]
    BadSkillName {
        /// The task id.
        task: String,
        /// The name as written.
        name: String,
        /// Where the selection came from.
        from: String,
        /// Why it is not a name.
        message: String,
    },
    /// The skill file breaks the skill schema or its rules.
    #[error("invalid skill:\n{0}")]
    InvalidSkill(engine_workflow::Diagnostics),
    /// The task names a story its skill does not have.
    #[error("task {task} names story {story:?}, which skill {skill:?} does not have ({known})")]
    UnknownStory {
        /// The task id.
        task: String,
        /// The story id named.
        story: String,
        /// The skill.
        skill: String,
        /// The story ids it has.
        known: String,
    },
    /// git failed.
    #[error("reading the project's rules: `{command}` failed: {message}")]
    Git {
        /// The command line.
        command: String,
        /// What it said.
        message: String,
    },
}

/// Where a run's rules are read from.
#[derive(Debug, Clone, Copy)]
pub struct SpecSite<'a> {
    /// The user's checkout (its object store and refs are read).
    pub repo_root: &'a Path,
    /// The run's base commit: the only version read.
    pub base_commit: &'a str,
    /// The run's branch, for the files the change touched (skill gates).
    pub branch: &'a str,
    /// The workflow's `constitution:` and `skills:`.
    pub rules: &'a RulesSettings,
    /// The run's worktree while nothing has written it since its checkout of the base commit
    /// (the run's first attempt): a file missing there is missing from the base commit too, so
    /// git is not asked ([`engine_git::blob::absent_from_fresh_checkout`]).
    pub fresh_worktree: Option<&'a Path>,
}

type CacheKey = (PathBuf, String, String, u64);
type Cached = Result<Option<String>, SpecError>;

/// Entries kept in [`FILES`]; a long-lived process (`engine serve`, `watch`) starts over when
/// it has read this many (each run's base commit adds one per file).
const MAX_CACHED_FILES: usize = 256;

/// Files at a commit never change: each is read once per process.
static FILES: LazyLock<Mutex<HashMap<CacheKey, Cached>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn read_cached(site: &SpecSite<'_>, path: &str, max: u64) -> Cached {
    let key = (
        site.repo_root.to_path_buf(),
        site.base_commit.to_string(),
        path.to_string(),
        max,
    );
    if let Ok(files) = FILES.lock()
        && let Some(hit) = files.get(&key)
    {
        return hit.clone();
    }
    let read = match site.fresh_worktree {
        Some(worktree) if engine_git::blob::absent_from_fresh_checkout(worktree, path) => Ok(None),
        _ => blob::read_at(site.repo_root, site.base_commit, path, max),
    };
    // A failed git command may succeed next time: only what the commit holds is remembered.
    if !matches!(read, Err(SpecError::Git { .. }))
        && let Ok(mut files) = FILES.lock()
    {
        if files.len() >= MAX_CACHED_FILES {
            files.clear();
        }
        files.insert(key, read.clone());
    }
    read
}

fn short(commit: &str) -> String {
    commit.chars().take(12).collect()
}

/// The constitution at the base commit: `(path, text)`, `None` when there is none.
pub fn constitution(site: &SpecSite<'_>) -> Result<Option<(String, String)>, SpecError> {
    let Some((path, required)) = site.rules.constitution.path() else {
        return Ok(None);
    };
    match read_cached(site, path, MAX_CONSTITUTION_BYTES)? {
        Some(text) if !text.trim().is_empty() => Ok(Some((path.to_string(), text))),
        None if required => Err(SpecError::MissingConstitution {
            path: path.to_string(),
            commit: short(site.base_commit),
        }),
        // Absent (and optional), or empty: nothing to add.
        Some(_) | None => Ok(None),
    }
}

/// The skill `name` at the base commit, checked; `None` when its file does not exist.
pub fn load_skill(site: &SpecSite<'_>, name: &str) -> Result<Option<Skill>, SpecError> {
    let path = format!("{}/{name}.yaml", site.rules.skills_dir);
    let Some(text) = read_cached(site, &path, engine_workflow::MAX_SKILL_BYTES)? else {
        return Ok(None);
    };
    engine_workflow::load_skill_str(&path, Some(name), &text)
        .map(Some)
        .map_err(SpecError::InvalidSkill)
}

/// The outputs of [`SPEC_OUTPUTS`] for an attempt on `task`: the constitution (`path`, `text`,
/// `rules`) and the selected skill (with its story, and each gate's files the change touched
/// when `with_changes`); `None` when there is neither.
pub fn spec_outputs(
    site: &SpecSite<'_>,
    task: &Task,
    with_changes: bool,
) -> Result<Option<Value>, SpecError> {
    let mut out = serde_json::Map::new();
    if let Some((path, text)) = constitution(site)? {
        let rules = constitution::rules(&text);
        out.insert(
            "constitution".into(),
            json!({ "path": path, "text": text.trim_end(), "rules": rules }),
        );
    }
    if let Some(skill) = selected_skill(site, task, with_changes)? {
        out.insert("skill".into(), skill);
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

/// [`spec_outputs`] for an attempt of the run `meta` describes: `None` without a worktree.
/// `untouched`: nothing has run in the worktree since its checkout (the run's first attempt).
pub fn for_run(
    meta: &engine_store::RunMeta,
    rules: &RulesSettings,
    task: &Task,
    untouched: bool,
) -> Result<Option<Value>, SpecError> {
    let Some(worktree) = &meta.worktree else {
        return Ok(None);
    };
    let site = SpecSite {
        repo_root: &meta.repo_root,
        base_commit: &meta.base_commit,
        branch: &meta.branch,
        rules,
        fresh_worktree: untouched.then_some(worktree.as_path()),
    };
    spec_outputs(&site, task, true)
}

fn selected_skill(
    site: &SpecSite<'_>,
    task: &Task,
    with_changes: bool,
) -> Result<Option<Value>, SpecError> {
    let chosen = selection::select(task, site.rules.default_skill.as_deref());
    let Some(name) = chosen.skill else {
        return Ok(None);
    };
    if let Err(message) = engine_workflow::check_skill_name(&name) {
        return Err(SpecError::BadSkillName {
            task: task.id.clone(),
            name,
            from: chosen.from.to_string(),
            message,
        });
    }
    let Some(skill) = load_skill(site, &name)? else {
        return Err(SpecError::MissingSkill {
            task: task.id.clone(),
            path: format!("{}/{name}.yaml", site.rules.skills_dir),
            name,
            from: chosen.from.to_string(),
            commit: short(site.base_commit),
        });
    };
    let story = match &chosen.story {
        Some(id) => Some(skill.story(id).ok_or_else(|| SpecError::UnknownStory {
            task: task.id.clone(),
            story: id.clone(),
            skill: skill.name.clone(),
            known: known_stories(&skill),
        })?),
        None => skill.story(&task.id),
    };
    let changed = if with_changes && !skill.gates.is_empty() {
        Some(blob::changed_files(
            site.repo_root,
            site.base_commit,
            site.branch,
        )?)
    } else {
        None
    };
    let gates: Vec<Value> = skill
        .gates
        .iter()
        .map(|gate| {
            let mut value = json!({
                "pattern": gate.pattern,
                "command": gate.command,
                "name": gate.name,
            });
            if let Some(changed) = &changed {
                let files: Vec<&String> = changed
                    .iter()
                    .filter(|f| engine_workflow::glob_matches(&gate.pattern, f))
                    .collect();
                value["matched"] = json!(!files.is_empty());
                value["files_matched"] = json!(files.len());
                value["files"] = json!(files.iter().take(MAX_LISTED_FILES).collect::<Vec<_>>());
            }
            value
        })
        .collect();
    Ok(Some(json!({
        "name": skill.name,
        "description": skill.description,
        "prompt": skill.prompt,
        "selected_by": chosen.from,
        "story": story,
        "gates": gates,
        // With no gates there is nothing to match: vacuously known.
        "changes_known": changed.is_some() || (with_changes && skill.gates.is_empty()),
    })))
}

fn known_stories(skill: &Skill) -> String {
    if skill.stories.is_empty() {
        return "it has no stories".to_string();
    }
    let ids: Vec<&str> = skill.stories.iter().map(|s| s.id.as_str()).collect();
    format!("it has {}", ids.join(", "))
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
