//! The conversation on a terminal: the agent's questions printed one at a time (escaped: they
//! are the agent's text), the user's answers read a line each, and the confirmation before
//! writing. Input and output are injected so the logic is tested without a terminal.

use std::io::{BufRead, Write};

use serde::Serialize;

/// The longest answer kept (characters); the rest of a pasted essay is cut.
pub const MAX_ANSWER_CHARS: usize = 4000;

/// One question and the user's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exchange {
    /// The agent's question.
    pub question: String,
    /// The answer (`(no answer: use your judgement)` when the user gave none).
    pub answer: String,
}

/// What an empty answer becomes.
pub const NO_ANSWER: &str = "(no answer: use your judgement)";

/// Asks each question on `output` and reads one answer line from `input`. An empty line is no
/// answer; at the end of input the remaining questions get none.
pub fn ask(
    questions: &[String],
    input: &mut dyn BufRead,
    output: &mut dyn Write,
) -> std::io::Result<Vec<Exchange>> {
    writeln!(
        output,
        "The agent asks {} question{} (an empty line leaves one to its judgement):",
        questions.len(),
        if questions.len() == 1 { "" } else { "s" }
    )?;
    let mut exchanges = Vec::new();
    let mut ended = false;
    for (i, question) in questions.iter().enumerate() {
        let mut answer = String::new();
        if !ended {
            writeln!(output, "{}. {}", i + 1, crate::terminal::safe(question))?;
            write!(output, "> ")?;
            output.flush()?;
            ended = input.read_line(&mut answer)? == 0;
        }
        let answer: String = answer
            .trim()
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_ANSWER_CHARS)
            .collect();
        exchanges.push(Exchange {
            question: question.clone(),
            answer: if answer.is_empty() {
                NO_ANSWER.to_string()
            } else {
                answer
            },
        });
    }
    Ok(exchanges)
}

/// Asks `question [y/N]`; true only for `y` or `yes` (any case).
pub fn confirm(
    question: &str,
    input: &mut dyn BufRead,
    output: &mut dyn Write,
) -> std::io::Result<bool> {
    write!(output, "{question} [y/N] ")?;
    output.flush()?;
    let mut line = String::new();
    input.read_line(&mut line)?;
    let line = line.trim();
    Ok(line.eq_ignore_ascii_case("y") || line.eq_ignore_ascii_case("yes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_a_line_each_and_empty_or_missing_ones_are_left_to_the_agent() {
        let questions = vec![
            "Which database?".to_string(),
            "Public \x1b[2J API?".to_string(),
            "Deadline?".to_string(),
        ];
        let mut input: &[u8] = b"PostgreSQL\n\n";
        let mut output = Vec::new();
        let exchanges = ask(&questions, &mut input, &mut output).unwrap();
        assert_eq!(exchanges[0].answer, "PostgreSQL");
        assert_eq!(exchanges[1].answer, NO_ANSWER);
        assert_eq!(exchanges[2].answer, NO_ANSWER);
        let shown = String::from_utf8(output).unwrap();
        assert!(shown.starts_with("The agent asks 3 questions"), "{shown}");
        assert!(shown.contains("1. Which database?\n> "), "{shown}");
        assert!(
            !shown.contains('\x1b'),
            "escapes are neutralised: {shown:?}"
        );
    }

    #[test]
    fn only_yes_confirms() {
        for (typed, expected) in [("y\n", true), ("YES\n", true), ("\n", false), ("", false)] {
            let mut input = typed.as_bytes();
            let mut output = Vec::new();
            assert_eq!(
                confirm("Write?", &mut input, &mut output).unwrap(),
                expected,
                "{typed:?}"
            );
            assert_eq!(output, b"Write? [y/N] ");
        }
    }
}
