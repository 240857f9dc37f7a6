//! The workflow's project rules: the constitution every agent and reviewer is given
//! (`constitution:`) and where skills live and which one a task gets by default (`skills:`).
//!
//! ```yaml
//! constitution: spec/constitution.md   # the default; `false` (or `none`) turns it off
//! skills:
//!   dir: skills                        # the default
//!   default: web-feature               # the skill of tasks that select none
//! ```
//!
//! Both files are read by the host from the run's base commit (never from the worktree), so a
//! stage cannot change the rules it is held to.

use serde_json::{Map, Value};

use crate::diagnostic::Problem;
use crate::field_path::FieldPath;
use crate::wording::show;

/// The constitution's path when `constitution:` is absent (used when the file exists).
pub const DEFAULT_CONSTITUTION_PATH: &str = "spec/constitution.md";

/// The skills directory when `skills.dir` is absent.
pub const DEFAULT_SKILLS_DIR: &str = "skills";

/// What `constitution:` says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "mode", content = "path")]
pub enum ConstitutionSetting {
    /// Absent: [`DEFAULT_CONSTITUTION_PATH`] when the file exists at the run's base commit,
    /// nothing otherwise.
    Default,
    /// A path relative to the repository root; the file must exist at the base commit.
    Path(String),
    /// `false` or `none`: no constitution.
    Off,
}

impl ConstitutionSetting {
    /// The path to read and whether the file must exist; `None` when turned off.
    pub fn path(&self) -> Option<(&str, bool)> {
        match self {
            ConstitutionSetting::Default => Some((DEFAULT_CONSTITUTION_PATH, false)),
            ConstitutionSetting::Path(path) => Some((path.as_str(), true)),
            ConstitutionSetting::Off => None,
        }
    }
}

/// The workflow's `constitution:` and `skills:`, resolved.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RulesSettings {
    /// The constitution.
    pub constitution: ConstitutionSetting,
    /// The directory (relative to the repository root) holding `<name>.yaml` skill files.
    pub skills_dir: String,
    /// The skill of a task that selects none, if any.
    pub default_skill: Option<String>,
}

impl Default for RulesSettings {
    fn default() -> Self {
        RulesSettings {
            constitution: ConstitutionSetting::Default,
            skills_dir: DEFAULT_SKILLS_DIR.to_string(),
            default_skill: None,
        }
    }
}

/// Reads `constitution:` and `skills:`. Problems of values go to `problems` (types and unknown
/// keys are the schema's, whose message wins for the same field).
pub(crate) fn read_rules(root: &Map<String, Value>, problems: &mut Vec<Problem>) -> RulesSettings {
    let mut rules = RulesSettings::default();
    match root.get("constitution") {
        None => {}
        Some(Value::Bool(false) | Value::Null) => rules.constitution = ConstitutionSetting::Off,
        Some(Value::String(text)) if text.trim().eq_ignore_ascii_case("none") => {
            rules.constitution = ConstitutionSetting::Off;
        }
        Some(Value::String(text)) => match check_repo_path(text) {
            Ok(path) => rules.constitution = ConstitutionSetting::Path(path),
            Err(message) => problems.push(Problem::at(FieldPath::keys(&["constitution"]), message)),
        },
        Some(Value::Bool(true)) => problems.push(Problem::at(
            FieldPath::keys(&["constitution"]),
            format!(
                "`true` says nothing: leave `constitution` out to use `{DEFAULT_CONSTITUTION_PATH}` \
                 when it exists, give a path, or write `false` to turn it off"
            ),
        )),
        Some(other) => problems.push(Problem::at(
            FieldPath::keys(&["constitution"]),
            format!(
                "must be a path relative to the repository root (e.g. `{DEFAULT_CONSTITUTION_PATH}`) \
                 or `false`, not {}",
                show(other)
            ),
        )),
    }
    let Some(section) = root.get("skills").and_then(Value::as_object) else {
        return rules;
    };
    let path = FieldPath::keys(&["skills"]);
    if let Some(Value::String(dir)) = section.get("dir") {
        match check_repo_path(dir) {
            Ok(dir) => rules.skills_dir = dir,
            Err(message) => problems.push(Problem::at(path.key("dir"), message)),
        }
    }
    if let Some(Value::String(name)) = section.get("default") {
        match check_skill_name(name) {
            Ok(()) => rules.default_skill = Some(name.clone()),
            Err(message) => problems.push(Problem::at(path.key("default"), message)),
        }
    }
    rules
}

/// A path inside the repository, as written (separators `/`): relative, no `..`, no empty or
/// `.` parts, no control characters. Returns it without a trailing `/`.
pub fn check_repo_path(text: &str) -> Result<String, String> {
    let trimmed = text.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        return Err("must not be empty: give a path relative to the repository root".to_string());
    }
    if trimmed.starts_with('/') || trimmed.contains('\\') || trimmed.contains(':') {
        return Err(format!(
            "{trimmed:?} must be a path relative to the repository root, with `/` separators"
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err("must not contain control characters".to_string());
    }
    if trimmed
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err(format!(
            "{trimmed:?} must stay inside the repository (no `..`, `.` or empty parts)"
        ));
    }
    Ok(trimmed.to_string())
}

/// A skill name: lower-case letters, digits, `-` and `_`, starting with a letter or digit, at
/// most 64 characters (it names the file `<name>.yaml`).
pub fn check_skill_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a skill name: use lower-case letters, digits, `-` and `_` (at most \
             64 characters), e.g. `web-feature`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(doc: &Value) -> (RulesSettings, Vec<String>) {
        let mut problems = Vec::new();
        let rules = read_rules(doc.as_object().unwrap(), &mut problems);
        (
            rules,
            problems
                .into_iter()
                .map(|p| format!("{}: {}", p.field, p.message))
                .collect(),
        )
    }

    #[test]
    fn absent_means_the_default_path_if_it_exists_and_no_skill() {
        let (rules, problems) = read(&json!({"name": "x"}));
        assert!(problems.is_empty());
        assert_eq!(rules, RulesSettings::default());
        assert_eq!(
            rules.constitution.path(),
            Some((DEFAULT_CONSTITUTION_PATH, false))
        );
    }

    #[test]
    fn false_and_none_turn_it_off() {
        for value in [json!(false), json!("none"), json!(" None "), Value::Null] {
            let (rules, problems) = read(&json!({ "constitution": value }));
            assert!(problems.is_empty());
            assert_eq!(rules.constitution, ConstitutionSetting::Off);
            assert_eq!(rules.constitution.path(), None);
        }
    }

    #[test]
    fn a_path_must_exist_and_stay_in_the_repository() {
        let (rules, _) = read(&json!({"constitution": "docs/RULES.md"}));
        assert_eq!(rules.constitution.path(), Some(("docs/RULES.md", true)));
        for bad in ["/etc/passwd", "../x.md", "a//b", "", "C:\\x", "a/./b"] {
            let (_, problems) = read(&json!({ "constitution": bad }));
            assert_eq!(problems.len(), 1, "{bad}: {problems:?}");
            assert!(problems[0].starts_with("constitution: "), "{problems:?}");
        }
    }

    #[test]
    fn skills_section_is_read_and_checked() {
        let (rules, problems) =
            read(&json!({"skills": {"dir": ".engine-skills/", "default": "web"}}));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(rules.skills_dir, ".engine-skills");
        assert_eq!(rules.default_skill.as_deref(), Some("web"));
        let (_, problems) = read(&json!({"skills": {"dir": "../up", "default": "Web Thing"}}));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("skills.dir: "));
        assert!(problems[1].starts_with("skills.default: "));
    }

    #[test]
    fn skill_names() {
        assert!(check_skill_name("web-feature_2").is_ok());
        for bad in ["", "-x", "Web", "a b", "a/b", "a.yaml", &"x".repeat(65)] {
            assert!(check_skill_name(bad).is_err(), "{bad}");
        }
    }
}
