//! Why `engine plan` wrote nothing, and the exit code each reason gives.

use std::path::{Path, PathBuf};

use crate::{EngineError, exit};

/// Why planning stopped before anything was written.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The agent asked questions nobody can answer here (no terminal, or the rounds are used
    /// up). Exit 1.
    #[error(
        "the agent asked {} question{} and {why}:\n{}\nanswer them in a file and run again with \
         --answers FILE",
        questions.len(),
        if questions.len() == 1 { "" } else { "s" },
        numbered(questions)
    )]
    Unanswered {
        /// The questions.
        questions: Vec<String>,
        /// Why they cannot be answered (`there is no terminal to answer them`...).
        why: String,
    },
    /// The draft was still invalid after the retry. Exit 1.
    #[error(
        "the agent's draft is invalid ({} problem{}), nothing was written:\n{}\nthe draft is \
         saved in {}",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        bulleted(problems),
        saved.display()
    )]
    InvalidDraft {
        /// What is wrong.
        problems: Vec<String>,
        /// Where the last reply is saved.
        saved: PathBuf,
    },
    /// The agent session did not complete. Exit 1.
    #[error("the agent session ended {outcome}: {detail}")]
    Agent {
        /// The outcome (`errored`, `killed-inactive`...).
        outcome: String,
        /// What the supervisor or the CLI said.
        detail: String,
    },
    /// The checkout changed during an unconfined session (a CLI that ignored its read-only
    /// mode, or another process: nobody can tell which). Exit 1.
    #[error(
        "the agent changed files it must only read: {} (confinement is off, so engine cannot \
         tell whether the agent or another process did; the plan was discarded, see `git \
         status`)",
        .0.join(", ")
    )]
    AgentWrote(Vec<String>),
    /// The agent session could not start (unknown backend, budget, spawn failure). Exit 1.
    #[error("the agent session could not start: {0}")]
    AgentStart(String),
    /// The user said no at the confirmation. Exit 1.
    #[error("not confirmed; nothing was written (the draft is saved in {})", .0.display())]
    Declined(PathBuf),
    /// A target file cannot be planned into (a link, not UTF-8, too large...). Exit 2.
    #[error("{0}")]
    BadTarget(String),
    /// The existing tasks file cannot be read as tasks: appending to it would be guesswork.
    /// Exit 2.
    #[error(
        "{shown} cannot be read as tasks, so nothing can be appended to it (fix it, or replace \
         it with --force):\n{}",
        bulleted(problems)
    )]
    ExistingTasks {
        /// The file as shown.
        shown: String,
        /// Its problems, located.
        problems: Vec<String>,
    },
    /// The files changed under engine again and again while it wrote. Exit 1.
    #[error("{0} kept changing while engine wrote it; nothing more was written, run again")]
    Contended(String),
    /// Anything the rest of engine reports (usage, workflow, I/O...), with its own exit code.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl PlanError {
    /// A file error.
    pub fn io(path: &Path, source: std::io::Error) -> PlanError {
        PlanError::Engine(EngineError::io(path, source))
    }

    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            PlanError::Unanswered { .. }
            | PlanError::InvalidDraft { .. }
            | PlanError::Agent { .. }
            | PlanError::AgentWrote(_)
            | PlanError::AgentStart(_)
            | PlanError::Declined(_)
            | PlanError::Contended(_) => exit::RUN_FAILED,
            PlanError::BadTarget(_) | PlanError::ExistingTasks { .. } => exit::INVALID_INPUT,
            PlanError::Engine(e) => e.exit_code(),
        }
    }
}

fn numbered(items: &[String]) -> String {
    items
        .iter()
        .enumerate()
        .map(|(i, q)| format!("  {}. {q}", i + 1))
        .collect::<Vec<_>>()
        .join("\n")
}

fn bulleted(items: &[String]) -> String {
    items
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reason_has_its_exit_code_and_names_what_is_wrong() {
        let e = PlanError::Unanswered {
            questions: vec!["Which database?".into(), "Public?".into()],
            why: "there is no terminal to answer them".into(),
        };
        assert_eq!(e.exit_code(), 1);
        let text = e.to_string();
        assert!(text.contains("2 questions"), "{text}");
        assert!(
            text.contains("  1. Which database?\n  2. Public?"),
            "{text}"
        );
        assert!(text.contains("--answers FILE"), "{text}");
        let e = PlanError::BadTarget("spec/tasks.md: is a symbolic link".into());
        assert_eq!(e.exit_code(), 2);
        let e = PlanError::Engine(EngineError::Usage("bad".into()));
        assert_eq!(e.exit_code(), 2);
    }
}
