//! The agent's reply to a planning prompt, read strictly: either clarifying questions (one
//! ```` ```questions ```` block) or a draft (a ```` ```tasks.md ```` block and, with `--full`,
//! ```` ```requirements.md ```` and ```` ```design.md ```` blocks). Text outside the blocks is
//! ignored. The block names are fixed: the reply never chooses a file name or a path.

/// The largest reply engine reads (bytes); a longer one is refused, never cut.
pub const MAX_REPLY_BYTES: usize = 1 << 20;
/// The most questions one reply may ask.
pub const MAX_QUESTIONS: usize = 10;
/// The longest question (characters).
pub const MAX_QUESTION_CHARS: usize = 500;

/// The documents a draft may hold, by the info string of their block.
pub const DOCUMENTS: [Document; 3] = [Document::Tasks, Document::Requirements, Document::Design];

/// One document of a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Document {
    /// `tasks.md`: the tasks.
    Tasks,
    /// `requirements.md`: `REQ-` items (with `--full`).
    Requirements,
    /// `design.md`: `DESIGN-` items (with `--full`).
    Design,
}

impl Document {
    /// The block's info string, which is also the file name engine writes it to.
    pub fn name(self) -> &'static str {
        match self {
            Document::Tasks => "tasks.md",
            Document::Requirements => "requirements.md",
            Document::Design => "design.md",
        }
    }
}

/// A draft: the text of each document the reply holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    /// `tasks.md`.
    pub tasks: String,
    /// `requirements.md`, when the reply has it.
    pub requirements: Option<String>,
    /// `design.md`, when the reply has it.
    pub design: Option<String>,
}

impl Draft {
    /// The text of `document`, when present.
    pub fn get(&self, document: Document) -> Option<&str> {
        match document {
            Document::Tasks => Some(&self.tasks),
            Document::Requirements => self.requirements.as_deref(),
            Document::Design => self.design.as_deref(),
        }
    }
}

/// What a reply says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The agent asks before it drafts.
    Questions(Vec<String>),
    /// A draft.
    Draft(Draft),
}

/// Reads a reply; the error lists what is wrong with it, in words the agent is told on a retry.
pub fn parse(text: &str) -> Result<Reply, Vec<String>> {
    if text.len() > MAX_REPLY_BYTES {
        return Err(vec![format!(
            "the reply is {} bytes; the limit is {MAX_REPLY_BYTES} bytes",
            text.len()
        )]);
    }
    let blocks = blocks(text)?;
    let mut problems = Vec::new();
    let mut questions = None;
    let mut draft = Draft::default();
    let mut has_tasks = false;
    for (name, body) in blocks {
        match name.as_str() {
            "questions" => {
                if questions.is_some() {
                    problems.push("the reply has two ```questions blocks".to_string());
                }
                questions = Some(read_questions(&body, &mut problems));
            }
            "tasks.md" | "requirements.md" | "design.md" => {
                let slot = match name.as_str() {
                    "tasks.md" => {
                        let first = !has_tasks;
                        has_tasks = true;
                        if first {
                            draft.tasks = body;
                            continue;
                        }
                        None
                    }
                    "requirements.md" => Some(&mut draft.requirements),
                    _ => Some(&mut draft.design),
                };
                match slot {
                    Some(slot) if slot.is_none() => *slot = Some(body),
                    _ => problems.push(format!("the reply has two ```{name} blocks")),
                }
            }
            // Other blocks (examples, shell snippets) are not part of the answer.
            _ => {}
        }
    }
    if questions.is_some() && (has_tasks || draft.requirements.is_some() || draft.design.is_some())
    {
        problems.push(
            "the reply has both a ```questions block and a draft; answer with one of them"
                .to_string(),
        );
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    match questions {
        Some(questions) if questions.is_empty() => {
            Err(vec!["the ```questions block asks no question".to_string()])
        }
        Some(questions) => Ok(Reply::Questions(questions)),
        None if has_tasks => Ok(Reply::Draft(draft)),
        None => Err(vec![
            "the reply has no ```tasks.md block (the draft must be a fenced block whose first \
             line is ```tasks.md)"
                .to_string(),
        ]),
    }
}

/// The fenced blocks of `text` with their info string (first word, lower-cased), in order. A
/// block opens with a line of three or more backticks (or tildes) and an info string, and
/// closes with a line of the same character, at least as long, and nothing else.
fn blocks(text: &str) -> Result<Vec<(String, String)>, Vec<String>> {
    let mut found = Vec::new();
    let mut open: Option<(char, usize, String, Vec<&str>)> = None;
    for line in text.lines() {
        let trimmed = line.trim_end_matches('\r');
        if let Some((fence, len, name, body)) = &mut open {
            let t = trimmed.trim();
            let run = t.chars().take_while(|c| c == fence).count();
            if run >= *len && run == t.chars().count() {
                let mut text = body.join("\n");
                text.push('\n');
                found.push((std::mem::take(name), text));
                open = None;
            } else {
                body.push(trimmed);
            }
            continue;
        }
        let t = trimmed.trim_start();
        // Up to three spaces of indentation, as in Markdown.
        if trimmed.len() - t.len() > 3 {
            continue;
        }
        let Some(fence) = t.chars().next().filter(|c| *c == '`' || *c == '~') else {
            continue;
        };
        let len = t.chars().take_while(|c| *c == fence).count();
        if len < 3 {
            continue;
        }
        let info = t[len..].trim();
        let name = info
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        open = Some((fence, len, name, Vec::new()));
    }
    match open {
        Some((_, _, name, _)) if is_answer_block(&name) => Err(vec![format!(
            "the ```{name} block is not closed (end it with a line of three backticks)"
        )]),
        _ => Ok(found),
    }
}

fn is_answer_block(name: &str) -> bool {
    name == "questions" || DOCUMENTS.iter().any(|d| d.name() == name)
}

/// The questions of a ```` ```questions ```` block: one a line, a leading `1.`, `1)`, `-` or
/// `*` dropped, control characters removed.
fn read_questions(body: &str, problems: &mut Vec<String>) -> Vec<String> {
    let mut questions = Vec::new();
    for line in body.lines() {
        let text = strip_marker(line.trim());
        let text: String = text.chars().filter(|c| !c.is_control()).collect();
        let text = text.trim().to_string();
        if text.is_empty() {
            continue;
        }
        if text.chars().count() > MAX_QUESTION_CHARS {
            problems.push(format!(
                "question {} is longer than {MAX_QUESTION_CHARS} characters",
                questions.len() + 1
            ));
            continue;
        }
        questions.push(text);
    }
    if questions.len() > MAX_QUESTIONS {
        problems.push(format!(
            "the reply asks {} questions; ask at most {MAX_QUESTIONS}",
            questions.len()
        ));
    }
    questions
}

fn strip_marker(line: &str) -> &str {
    if let Some(rest) = line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")) {
        return rest;
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits > 0
        && let Some(rest) = line[digits..]
            .strip_prefix(". ")
            .or_else(|| line[digits..].strip_prefix(") "))
    {
        return rest;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_is_read_from_its_named_blocks_and_other_text_is_ignored() {
        let text = "Here is the plan.\n```sh\necho hi\n```\n```tasks.md\n### TASK-1: A\n\
                    ```\n\n````requirements.md\n#### REQ-001: R\n```\nnested\n```\n````\n";
        let Ok(Reply::Draft(draft)) = parse(text) else {
            panic!("{:?}", parse(text))
        };
        assert_eq!(draft.tasks, "### TASK-1: A\n");
        assert_eq!(
            draft.requirements.as_deref(),
            Some("#### REQ-001: R\n```\nnested\n```\n")
        );
        assert_eq!(draft.design, None);
    }

    #[test]
    fn questions_are_one_a_line_without_their_markers() {
        let text = "```questions\n1. Which database?\n- Public API?\n\n3) Deadline?\x1b[31m\n```";
        assert_eq!(
            parse(text),
            Ok(Reply::Questions(vec![
                "Which database?".into(),
                "Public API?".into(),
                "Deadline?[31m".into()
            ]))
        );
    }

    #[test]
    fn ambiguous_missing_or_oversized_replies_are_refused_with_the_reason() {
        let both = "```questions\nA?\n```\n```tasks.md\n### TASK-1: A\n```\n";
        assert!(parse(both).unwrap_err()[0].contains("both"));
        assert!(parse("no blocks here").unwrap_err()[0].contains("no ```tasks.md block"));
        assert!(parse("```tasks.md\n### TASK-1: A\n").unwrap_err()[0].contains("not closed"));
        let two = "```tasks.md\nA\n```\n```tasks.md\nB\n```\n";
        assert!(parse(two).unwrap_err()[0].contains("two ```tasks.md"));
        let huge = "x".repeat(MAX_REPLY_BYTES + 1);
        assert!(parse(&huge).unwrap_err()[0].contains("limit"));
        let many = "Q?\n".repeat(MAX_QUESTIONS + 1);
        assert!(parse(&format!("```questions\n{many}```")).unwrap_err()[0].contains("at most"));
        assert!(parse("```questions\n\n```").unwrap_err()[0].contains("no question"));
    }

    #[test]
    fn a_block_named_like_a_path_is_not_a_document() {
        let text = "```../../etc/passwd\nroot\n```\n```tasks.md\n### TASK-1: A\n```\n";
        let Ok(Reply::Draft(draft)) = parse(text) else {
            panic!()
        };
        assert_eq!(draft.tasks, "### TASK-1: A\n");
    }
}
