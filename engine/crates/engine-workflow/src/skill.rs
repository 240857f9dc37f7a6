//! Skill files (`skills/<name>.yaml`): prompt additions, stories with acceptance criteria and
//! dependencies, and quality gates by file pattern. Checked against the embedded skill JSON
//! Schema (`schema/skill.schema.json`, `engine schema`'s sibling) and the rules it cannot say
//! (unique story ids, known dependencies, no cycles), every problem located as `file:line:col`
//! like a workflow's.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use jsonschema::Validator;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diagnostic::{Diagnostics, Problem};
use crate::field_path::FieldPath;
use crate::schema_messages::{SchemaOwner, problems_for};
use crate::yaml;

const SKILL_SCHEMA: &str = include_str!("../schema/skill.schema.json");

/// The largest skill file read, in bytes.
pub const MAX_SKILL_BYTES: u64 = 256 * 1024;

/// The skill JSON Schema (draft 2020-12), as checked in at
/// `engine/crates/engine-workflow/schema/skill.schema.json`.
pub fn skill_schema_json() -> &'static str {
    SKILL_SCHEMA
}

/// A checked skill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skill {
    /// Its name (the file's name without `.yaml`).
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Added to every agent prompt of a task using it.
    #[serde(default)]
    pub prompt: String,
    /// Its stories, in file order.
    #[serde(default)]
    pub stories: Vec<Story>,
    /// Its gates, in file order.
    #[serde(default)]
    pub gates: Vec<SkillGate>,
}

/// One user story of a skill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Story {
    /// Its id (`LOGIN-1`), also the id of the task it becomes.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// What it is about.
    #[serde(default)]
    pub description: String,
    /// What must be true when it is done.
    #[serde(default)]
    pub acceptance_criteria: Vec<String>,
    /// Stories of the same skill done first.
    #[serde(default)]
    pub depends_on: Vec<String>,
}

/// A command run when the change touched a file matching `pattern`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillGate {
    /// The glob ([`crate::glob_matches`]).
    pub pattern: String,
    /// A string split like a shell splits words, or an argv list.
    pub command: Value,
    /// A short name for messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Skill {
    /// The story with this id.
    pub fn story(&self, id: &str) -> Option<&Story> {
        self.stories.iter().find(|s| s.id == id)
    }
}

fn compiled() -> Result<&'static (Value, Validator), &'static String> {
    static COMPILED: OnceLock<Result<(Value, Validator), String>> = OnceLock::new();
    COMPILED
        .get_or_init(|| {
            let document: Value = serde_json::from_str(SKILL_SCHEMA)
                .map_err(|e| format!("the embedded skill schema is not JSON: {e}"))?;
            let validator = jsonschema::draft202012::options()
                .build(&document)
                .map_err(|e| format!("the embedded skill schema does not compile: {e}"))?;
            Ok((document, validator))
        })
        .as_ref()
}

/// Loads a skill from `source`; `file_display` names the file in diagnostics and `expected_name`
/// (the file's name without `.yaml`), when given, must be the skill's `name`.
pub fn load_skill_str(
    file_display: &str,
    expected_name: Option<&str>,
    source: &str,
) -> Result<Skill, Diagnostics> {
    let source = crate::input::strip_bom(source);
    let locate = |spans: &crate::spans::SpanIndex, problems: &[Problem]| {
        Diagnostics::sorted(
            problems
                .iter()
                .map(|p| p.locate(file_display, spans))
                .collect(),
        )
    };
    let parsed = yaml::parse(source)
        .map_err(|unreadable| locate(&unreadable.spans, &unreadable.problems))?;
    let document = &parsed.json;
    let mut problems: Vec<Problem> = match compiled() {
        Ok((schema, validator)) => validator
            .iter_errors(document)
            .flat_map(|error| {
                problems_for(
                    &error,
                    schema,
                    document,
                    &FieldPath::root(),
                    SchemaOwner::Plugin,
                )
            })
            .collect(),
        Err(message) => vec![Problem::at(
            FieldPath::root(),
            format!("internal error: {message}"),
        )],
    };
    if !document.is_object() {
        problems = vec![Problem::at(
            FieldPath::root(),
            "a skill must be a YAML mapping with at least \"name\"",
        )];
    }
    if !problems.is_empty() {
        return Err(locate(&parsed.spans, &problems));
    }
    let skill: Skill = serde_json::from_value(document.clone()).map_err(|e| {
        locate(
            &parsed.spans,
            &[Problem::at(
                FieldPath::root(),
                format!("unreadable skill: {e}"),
            )],
        )
    })?;
    let problems = semantic_problems(&skill, expected_name);
    if problems.is_empty() {
        Ok(skill)
    } else {
        Err(locate(&parsed.spans, &problems))
    }
}

/// What the schema cannot say: the name matches the file, unique story ids, known
/// dependencies, no dependency cycle, usable gate commands.
fn semantic_problems(skill: &Skill, expected_name: Option<&str>) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Some(expected) = expected_name
        && expected != skill.name
    {
        problems.push(Problem::at(
            FieldPath::keys(&["name"]),
            format!(
                "the skill in `{expected}.yaml` must be named {expected:?}, not {:?}",
                skill.name
            ),
        ));
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, story) in skill.stories.iter().enumerate() {
        let at = FieldPath::keys(&["stories"]).index(i);
        if let Some(first) = seen.insert(&story.id, i) {
            problems.push(Problem::at(
                at.key("id"),
                format!(
                    "duplicate story id {:?} (also story {} of the list)",
                    story.id,
                    first + 1
                ),
            ));
        }
    }
    for (i, story) in skill.stories.iter().enumerate() {
        for (j, dep) in story.depends_on.iter().enumerate() {
            let at = FieldPath::keys(&["stories"])
                .index(i)
                .key("depends_on")
                .index(j);
            if !seen.contains_key(dep.as_str()) {
                problems.push(Problem::at(at, format!("unknown story {dep:?}")));
            } else if dep == &story.id {
                problems.push(Problem::at(at, "a story cannot depend on itself"));
            }
        }
    }
    if let Some((index, cycle)) = first_cycle(skill) {
        problems.push(Problem::at(
            FieldPath::keys(&["stories"]).index(index).key("depends_on"),
            format!("dependency cycle: {}", cycle.join(" -> ")),
        ));
    }
    for (i, gate) in skill.gates.iter().enumerate() {
        let empty = match &gate.command {
            Value::String(text) => text.trim().is_empty(),
            Value::Array(items) => items
                .first()
                .and_then(Value::as_str)
                .is_none_or(|p| p.trim().is_empty()),
            _ => true,
        };
        if empty {
            problems.push(Problem::at(
                FieldPath::keys(&["gates"]).index(i).key("command"),
                "names no program: give a command such as `cargo test`",
            ));
        }
    }
    problems
}

/// A dependency cycle among the stories (ids in order, the first repeated at the end) and the
/// index of the story it starts at.
fn first_cycle(skill: &Skill) -> Option<(usize, Vec<String>)> {
    let deps: BTreeMap<&str, Vec<&str>> = skill
        .stories
        .iter()
        .map(|s| {
            (
                s.id.as_str(),
                s.depends_on
                    .iter()
                    .map(String::as_str)
                    .filter(|d| *d != s.id)
                    .collect(),
            )
        })
        .collect();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    for (index, story) in skill.stories.iter().enumerate() {
        let mut stack: Vec<&str> = Vec::new();
        if let Some(cycle) = visit(&story.id, &deps, &mut stack, &mut done) {
            return Some((index, cycle));
        }
    }
    None
}

fn visit<'a>(
    id: &'a str,
    deps: &BTreeMap<&'a str, Vec<&'a str>>,
    stack: &mut Vec<&'a str>,
    done: &mut BTreeSet<&'a str>,
) -> Option<Vec<String>> {
    if let Some(pos) = stack.iter().position(|s| *s == id) {
        let mut cycle: Vec<String> = stack[pos..].iter().map(|s| (*s).to_string()).collect();
        cycle.push(id.to_string());
        return Some(cycle);
    }
    if done.contains(id) {
        return None;
    }
    stack.push(id);
    for dep in deps.get(id).into_iter().flatten() {
        if let Some(cycle) = visit(dep, deps, stack, done) {
            return Some(cycle);
        }
    }
    stack.pop();
    done.insert(id);
    None
}

#[cfg(test)]
#[path = "skill_tests.rs"]
mod tests;
