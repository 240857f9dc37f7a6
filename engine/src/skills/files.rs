//! Skill files in the user's checkout, for `engine skills check` and `engine skills expand`
//! (runs read them from their base commit instead: see [`super::load_skill`]).

use std::path::{Path, PathBuf};

use engine_workflow::{Diagnostics, MAX_SKILL_BYTES, RulesSettings, Skill};

use crate::EngineError;

/// Where a repository keeps its skills, and where expansion writes tasks by default.
#[derive(Debug, Clone)]
pub struct SkillsHome {
    /// The repository's root.
    pub root: PathBuf,
    /// The workflow's `constitution:` and `skills:` (defaults without a workflow).
    pub rules: RulesSettings,
    /// The tasks file of the workflow's `tasks-md` source, relative to the root, if any.
    pub tasks_file: Option<String>,
}

/// A skill file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SkillFileError {
    /// Missing, unreadable, too large or not UTF-8.
    #[error("{0}")]
    Unreadable(String),
    /// It breaks the schema or the skill rules.
    #[error("{0}")]
    Invalid(Diagnostics),
}

impl SkillsHome {
    /// The skills of the repository holding `start`, with the settings of `workflow` when given.
    pub fn discover(start: &Path, workflow: Option<&Path>) -> Result<SkillsHome, EngineError> {
        let repo = engine_git::Repo::discover(start)?;
        let (rules, tasks_file) = match workflow {
            Some(path) => {
                let loaded = engine_workflow::load_file(path)?;
                let tasks_file = loaded
                    .tasks
                    .as_ref()
                    .filter(|t| {
                        matches!(&t.source, engine_core::PluginRef::Builtin { name } if name == "tasks-md")
                    })
                    .and_then(|t| t.config.get("path"))
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_string);
                (loaded.rules, tasks_file)
            }
            None => (RulesSettings::default(), None),
        };
        Ok(SkillsHome {
            root: repo.root().to_path_buf(),
            rules,
            tasks_file,
        })
    }

    /// The skills directory.
    pub fn dir(&self) -> PathBuf {
        self.root.join(&self.rules.skills_dir)
    }

    /// The file of skill `name`, as shown in messages (relative to the root).
    pub fn display_path(&self, name: &str) -> String {
        format!("{}/{name}.yaml", self.rules.skills_dir)
    }

    /// The names of the `*.yaml` files of the skills directory, sorted (none when it does not
    /// exist).
    pub fn names(&self) -> Result<Vec<String>, EngineError> {
        let dir = self.dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(EngineError::Io { path: dir, source }),
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(".yaml"))
                    .map(str::to_string)
            })
            .collect();
        names.sort();
        Ok(names)
    }

    /// Loads and checks skill `name` from the working tree.
    pub fn load(&self, name: &str) -> Result<Skill, SkillFileError> {
        engine_workflow::check_skill_name(name).map_err(SkillFileError::Unreadable)?;
        let shown = self.display_path(name);
        let path = self.root.join(&shown);
        let text = engine_workflow::read_text_file(&path, MAX_SKILL_BYTES, "the skill file")
            .map_err(|e| SkillFileError::Unreadable(format!("{shown}: {e}")))?;
        engine_workflow::load_skill_str(&shown, Some(name), &text).map_err(SkillFileError::Invalid)
    }
}
