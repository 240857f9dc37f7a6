//! The planning prompt: `prompt.md` (embedded) rendered with minijinja. It explains the exact
//! `tasks.md` format `builtin:tasks-md` reads (and, with `--full`, the requirements and design
//! documents), lists the tasks that exist, says where new ids start, whether questions may be
//! asked, and, on a retry, what was wrong with the last answer.

use serde::Serialize;

use super::dialogue::Exchange;
use crate::EngineError;

/// The template.
const TEMPLATE: &str = include_str!("prompt.md");

/// An existing task as the prompt lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ListedTask {
    /// Its id.
    pub id: String,
    /// Its status (`todo`...).
    pub status: String,
    /// Its milestone.
    pub milestone: Option<String>,
    /// Its title (control characters removed).
    pub title: String,
}

/// Everything the prompt says.
#[derive(Debug, Clone, Serialize)]
pub struct PromptInput {
    /// The user's description.
    pub description: String,
    /// Questions asked and answered so far.
    pub dialogue: Vec<Exchange>,
    /// The `--answers` file's text.
    pub answers: Option<String>,
    /// The tasks file, as shown.
    pub tasks_path: String,
    /// Its tasks.
    pub existing: Vec<ListedTask>,
    /// The prefix of task ids (`TASK`).
    pub id_prefix: String,
    /// The first new id.
    pub next_id: String,
    /// Requirement and design ids already defined.
    pub spec_ids: Vec<String>,
    /// The first new requirement id.
    pub next_req: String,
    /// The first new design id.
    pub next_design: String,
    /// `--full`.
    pub full: bool,
    /// Whether the agent may answer with questions.
    pub may_ask: bool,
    /// The most questions it may ask.
    pub max_questions: usize,
    /// What was wrong with the last answer (a retry).
    pub problems: Vec<String>,
    /// The last answer, for a new session that cannot resume the one that gave it.
    pub previous: Option<String>,
}

/// Renders the prompt.
pub fn render(input: &PromptInput) -> Result<String, EngineError> {
    let mut env = minijinja::Environment::new();
    env.set_keep_trailing_newline(true);
    env.add_template("plan", TEMPLATE)
        .and_then(|()| env.get_template("plan")?.render(input))
        .map_err(|e| EngineError::Internal(format!("the planning prompt does not render: {e}")))
}

/// The id after the highest of `ids` with `prefix` (`TASK-007` after `TASK-006`), keeping the
/// zero padding of the ids seen (three digits when there are none).
pub fn next_id<'a>(prefix: &str, ids: impl IntoIterator<Item = &'a str>) -> String {
    let mut highest = 0u64;
    let mut width = 3;
    for id in ids {
        if let Some(digits) = id
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('-'))
            && let Ok(n) = digits.parse::<u64>()
            && n >= highest
        {
            highest = n;
            width = digits.len();
        }
    }
    format!("{prefix}-{:0width$}", highest.saturating_add(1))
}

/// The most common prefix of task ids (`TASK` when there are none).
pub fn id_prefix<'a>(ids: impl IntoIterator<Item = &'a str>) -> String {
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for id in ids {
        if let Some((prefix, _)) = id.rsplit_once('-') {
            *counts.entry(prefix).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map_or_else(|| "TASK".to_string(), |(p, _)| p.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> PromptInput {
        PromptInput {
            description: "Add a --json flag to export".into(),
            dialogue: Vec::new(),
            answers: None,
            tasks_path: "spec/tasks.md".into(),
            existing: vec![ListedTask {
                id: "TASK-002".into(),
                status: "done".into(),
                milestone: Some("Milestone 1: MVP".into()),
                title: "Set up".into(),
            }],
            id_prefix: "TASK".into(),
            next_id: "TASK-003".into(),
            spec_ids: Vec::new(),
            next_req: "REQ-001".into(),
            next_design: "DESIGN-001".into(),
            full: false,
            may_ask: false,
            max_questions: 10,
            problems: Vec::new(),
            previous: None,
        }
    }

    #[test]
    fn the_prompt_explains_the_format_lists_tasks_and_says_whether_to_ask() {
        let text = render(&input()).unwrap();
        assert!(text.contains("Add a --json flag to export"), "{text}");
        assert!(
            text.contains("- TASK-002 (done, Milestone 1: MVP): Set up"),
            "{text}"
        );
        assert!(
            text.contains("### TASK-003: <short imperative title>"),
            "{text}"
        );
        assert!(text.contains("Do not ask questions"), "{text}");
        assert!(!text.contains("```questions"), "{text}");
        assert!(!text.contains("```requirements.md"), "{text}");

        let mut full = input();
        full.full = true;
        full.may_ask = true;
        full.problems = vec!["tasks.md line 3: TASK-003 has no checklist".into()];
        full.previous = Some("```tasks.md\n### TASK-003: A\n```".into());
        let text = render(&full).unwrap();
        assert!(text.contains("```questions"), "{text}");
        assert!(text.contains("```requirements.md\n#### REQ-001"), "{text}");
        assert!(
            text.contains("**Traces to:** [REQ-001], [DESIGN-001]"),
            "{text}"
        );
        assert!(
            text.contains("- tasks.md line 3: TASK-003 has no checklist"),
            "{text}"
        );
        assert!(text.contains("Your previous answer was:"), "{text}");
    }

    #[test]
    fn new_ids_continue_after_the_highest_with_its_padding() {
        assert_eq!(
            next_id("TASK", ["TASK-002", "TASK-010", "KAP-99"]),
            "TASK-011"
        );
        assert_eq!(next_id("TASK", []), "TASK-001");
        assert_eq!(next_id("KAP", ["KAP-7"]), "KAP-8");
        assert_eq!(id_prefix(["KAP-1", "KAP-2", "TASK-1"]), "KAP");
        assert_eq!(id_prefix([]), "TASK");
    }
}
