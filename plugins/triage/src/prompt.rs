//! The prompts of mode `agent`: the verdict request and the "JSON only" follow-up.

use engine_stage_sdk::Task;
use std::fmt::Write as _;

use crate::config::TriageConfig;

/// Appended to the agent's system prompt.
pub const SYSTEM_PROMPT: &str = "You are triaging a task for an automated coding pipeline. \
    You only read: never edit files or run commands. Finish with the JSON verdict you are asked for.";

/// The shape of the verdict, repeated in both prompts.
const VERDICT_SHAPE: &str = r#"{"decision": "run" | "already_done" | "too_vague", "tier": "genius" | "smart" | "primitive", "reason": "<one sentence>"}"#;

/// The first prompt: the task, the criteria, and the verdict's shape.
pub fn verdict_prompt(config: &TriageConfig, task: &Task) -> String {
    let mut out = String::new();
    out.push_str(
        "Triage the task below before a coding agent works on it in this repository (your \
         current directory). Read the code as much as you need (Read, Grep, Glob, LS); do not \
         change anything.\n\n",
    );
    let _ = write!(out, "## Task {}: {}\n\n", task.id, task.title.trim());
    if !task.labels.is_empty() {
        let _ = write!(out, "Labels: {}\n\n", task.labels.join(", "));
    }
    let body = task.body.trim();
    if !body.is_empty() && body != task.title.trim() {
        out.push_str(body);
        out.push_str("\n\n");
    }
    out.push_str(
        "## Decide\n\
         - \"already_done\": the repository already does what the task asks (say where).\n\
         - \"too_vague\": a competent engineer could not start without asking questions (say \
         what is missing).\n\
         - \"run\": otherwise. Then pick the model tier the work needs:\n\
         \x20 - \"primitive\": a mechanical change in one or two places (a typo, a rename, a \
         config value, a small doc edit);\n\
         \x20 - \"smart\": ordinary feature or bug-fix work touching a few files;\n\
         \x20 - \"genius\": cross-cutting design, concurrency, security, performance, data \
         migrations, or many files.\n\n",
    );
    if let Some(extra) = config
        .agent
        .instructions
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        out.push_str("## Project rules\n");
        out.push_str(extra);
        out.push_str("\n\n");
    }
    let _ = write!(
        out,
        "## Answer\nEnd your answer with the verdict as one JSON object in a ```json block:\n\
         {VERDICT_SHAPE}\n"
    );
    out
}

/// The follow-up when the reply held no valid verdict: JSON only.
pub fn repair_prompt(problem: &str) -> String {
    format!(
        "Your reply did not contain a valid verdict ({problem}). Reply with only the JSON \
         object, nothing else:\n{VERDICT_SHAPE}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(body: &str, labels: &[&str]) -> Task {
        Task {
            id: "T-7".into(),
            title: "Add a --json flag".into(),
            body: body.into(),
            labels: labels.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn the_prompt_has_the_task_the_criteria_and_the_shape() {
        let p = verdict_prompt(
            &TriageConfig::default(),
            &task("Add a --json flag\n\nto `export`.", &["cli"]),
        );
        assert!(p.contains("## Task T-7: Add a --json flag"), "{p}");
        assert!(p.contains("Labels: cli"), "{p}");
        assert!(p.contains("to `export`."), "{p}");
        assert!(p.contains("\"already_done\""), "{p}");
        assert!(p.contains(VERDICT_SHAPE), "{p}");
        assert!(!p.contains("Project rules"), "{p}");
    }

    #[test]
    fn instructions_are_added_and_a_body_equal_to_the_title_is_not_repeated() {
        let mut config = TriageConfig::default();
        config.agent.instructions = Some("Anything touching billing is genius.".into());
        let p = verdict_prompt(&config, &task("Add a --json flag", &[]));
        assert!(
            p.contains("## Project rules\nAnything touching billing is genius."),
            "{p}"
        );
        assert_eq!(p.matches("Add a --json flag").count(), 1, "{p}");
        assert!(!p.contains("Labels:"), "{p}");
    }

    #[test]
    fn the_follow_up_asks_for_json_only() {
        let p = repair_prompt("no JSON object in the reply");
        assert!(p.contains("(no JSON object in the reply)"));
        assert!(p.contains("only the JSON"));
    }
}
