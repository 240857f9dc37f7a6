//! Which skill and story a task selects: a `skill:<name>` / `story:<ID>` label, a
//! `**Skill:** name` / `**Story:** ID` line in its body (what `engine skills expand` writes, and
//! what any source's task text may carry), else the workflow's `skills.default`. A task whose id
//! is a story id of its skill works on that story.

use engine_core::Task;

/// What a task asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The skill's name, if any.
    pub skill: Option<String>,
    /// Where the name came from, for messages (`label`, `task body`, `skills.default`).
    pub from: &'static str,
    /// The story id named, if any.
    pub story: Option<String>,
}

/// The skill and story `task` selects, `default` being the workflow's `skills.default`.
pub fn select(task: &Task, default: Option<&str>) -> Selection {
    let label = |prefix: &str| {
        task.labels.iter().find_map(|l| {
            l.trim()
                .strip_prefix(prefix)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        })
    };
    let (skill, from) = match label("skill:") {
        Some(name) => (Some(name), "label"),
        None => match body_field(&task.body, "Skill") {
            Some(name) => (Some(name), "task body"),
            None => (default.map(str::to_string), "skills.default"),
        },
    };
    let story = label("story:").or_else(|| body_field(&task.body, "Story"));
    Selection { skill, from, story }
}

/// The value of the first `**Field:** value` line of `body` (outside fenced code).
fn body_field(body: &str, field: &str) -> Option<String> {
    let marker = format!("**{field}:**");
    let mut in_fence = false;
    for line in body.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix(&marker) {
            let value = rest
                .trim()
                .trim_matches(|c| c == '`' || c == '[' || c == ']');
            if !value.is_empty() {
                return Some(value.to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(labels: &[&str], body: &str) -> Task {
        Task {
            id: "LOGIN-1".into(),
            title: "t".into(),
            body: body.into(),
            labels: labels.iter().map(|l| (*l).to_string()).collect(),
        }
    }

    #[test]
    fn a_label_wins_over_the_body_and_the_default() {
        let t = task(&["x", "skill:web", "story:LOGIN-2"], "**Skill:** api\n");
        assert_eq!(
            select(&t, Some("base")),
            Selection {
                skill: Some("web".into()),
                from: "label",
                story: Some("LOGIN-2".into())
            }
        );
    }

    #[test]
    fn the_body_line_then_the_default() {
        let t = task(&[], "Text\n\n**Skill:** `api`\n**Story:** [API-3]\n");
        let s = select(&t, Some("base"));
        assert_eq!((s.skill.as_deref(), s.from), (Some("api"), "task body"));
        assert_eq!(s.story.as_deref(), Some("API-3"));
        let t = task(&[], "```\n**Skill:** fenced\n```\n");
        let s = select(&t, Some("base"));
        assert_eq!(
            (s.skill.as_deref(), s.from),
            (Some("base"), "skills.default")
        );
        assert_eq!(select(&t, None).skill, None);
    }
}
