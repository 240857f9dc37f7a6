//! The text `engine tasks sync` writes: an issue's title and body for a task (ending with the
//! hidden marker `<!-- engine-task: ID -->` that finds the issue again), and a tasks.md block
//! for an issue (carrying `**GitHub:** #N` that finds the task again).
//!
//! Imported issue text is neutralised so it cannot change the structure of tasks.md: the
//! title becomes one line without control characters, and every body line is quoted (`> `)
//! with `**` escaped, so a body line can never be a heading (`### TASK-999`), a metadata or
//! checklist line (`- [x]`), a fence, a `**Depends on:**` field or a forged `**GitHub:**` line.

use engine_tasks::Task;

/// The marker line ending an exported issue's body.
pub fn marker(id: &str) -> String {
    format!("<!-- engine-task: {id} -->")
}

/// The task id of an issue body's marker: its last non-empty line must be exactly a marker (a
/// marker quoted earlier in the body does not count).
pub fn marker_id(body: &str) -> Option<&str> {
    let last = body.lines().rev().find(|l| !l.trim().is_empty())?.trim();
    let id = last
        .strip_prefix("<!-- engine-task: ")?
        .strip_suffix(" -->")?;
    exportable_id(id).then_some(id)
}

/// Whether an id can go into a marker and a title unchanged: letters, digits, `-`, `_`, `.`,
/// `#`, at most 64 characters.
pub fn exportable_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '#'))
}

/// The issue title of a task: `TASK-001: name`.
pub fn issue_title(task: &Task) -> String {
    format!("{}: {}", task.id, one_line(&task.title))
}

/// The issue body of a task: its text (description, checklist, fields) and the marker.
pub fn issue_body(task: &Task) -> String {
    let text = task.body.trim_end();
    if text.trim().is_empty() {
        format!("{}\n", marker(&task.id))
    } else {
        format!("{text}\n\n{}\n", marker(&task.id))
    }
}

/// Two bodies are the same modulo line endings and trailing white space (GitHub stores what
/// the web editor sends, often with CRLF).
pub fn same_body(a: &str, b: &str) -> bool {
    a.replace("\r\n", "\n").trim_end() == b.replace("\r\n", "\n").trim_end()
}

/// One line: control characters (newlines included) become spaces, runs of spaces collapse,
/// at most 200 characters.
pub fn one_line(text: &str) -> String {
    let spaced: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let words: Vec<&str> = spaced.split_whitespace().collect();
    words.join(" ").chars().take(200).collect()
}

/// The `**GitHub:** #N` line of an imported task.
pub fn github_line(number: u64, url: &str) -> String {
    let url = one_line(url);
    let safe_url = url.starts_with("https://") && !url.contains(char::is_whitespace);
    if safe_url {
        format!("**GitHub:** #{number} {}", url.replace("**", ""))
    } else {
        format!("**GitHub:** #{number}")
    }
}

/// The issue number of a task imported from GitHub: a body line `**GitHub:** #N` (optionally
/// followed by the address).
pub fn imported_number(body: &str) -> Option<u64> {
    body.lines().find_map(|line| {
        let rest = line.trim_end().strip_prefix("**GitHub:** #")?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let after = &rest[digits.len()..];
        if after.is_empty() || after.starts_with(' ') {
            digits.parse().ok()
        } else {
            None
        }
    })
}

/// An issue's body as quoted description lines: `> ` before each line, `**` escaped,
/// control characters removed; empty lines stay empty quotes. Empty when the body is.
pub fn quoted_body(body: &str) -> Vec<String> {
    let text = body.replace("\r\n", "\n");
    let text = text.trim_matches('\n');
    if text.trim().is_empty() {
        return Vec::new();
    }
    text.split('\n')
        .map(|line| {
            let clean: String = line
                .chars()
                .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
                .collect();
            let clean = clean.replace("**", "\\*\\*");
            let clean = clean.trim_end();
            if clean.is_empty() {
                ">".to_string()
            } else {
                format!("> {clean}")
            }
        })
        .collect()
}

/// What an imported task looks like in tasks.md.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedTask<'a> {
    /// Its new id.
    pub id: &'a str,
    /// The issue's title (made one line here).
    pub title: &'a str,
    /// Done (closed issue) or todo.
    pub done: bool,
    /// The issue number.
    pub number: u64,
    /// The issue's address.
    pub url: &'a str,
    /// The issue's body.
    pub body: &'a str,
}

/// The block of an imported task, ending with an empty line: header, metadata line (`emoji`:
/// in the file's style), the `**GitHub:**` line and the quoted body.
pub fn task_block(task: &ImportedTask<'_>, emoji: bool) -> String {
    let title = one_line(task.title);
    let title = if title.is_empty() {
        format!("Issue #{}", task.number)
    } else {
        title
    };
    let status = match (task.done, emoji) {
        (true, true) => "🟡 P2 | ✅ DONE",
        (false, true) => "🟡 P2 | ⬜ TODO",
        (true, false) => "P2 | DONE",
        (false, false) => "P2 | TODO",
    };
    let mut out = format!(
        "### {}: {title}\n{status}\n{}\n",
        task.id,
        github_line(task.number, task.url)
    );
    let body = quoted_body(task.body);
    if !body.is_empty() {
        out.push('\n');
        for line in body {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_final_marker_line_identifies_an_issue() {
        assert_eq!(
            marker_id("text\n\n<!-- engine-task: TASK-1 -->\n"),
            Some("TASK-1")
        );
        assert_eq!(marker_id("<!-- engine-task: TASK-1 -->\nmore"), None);
        assert_eq!(marker_id("<!-- engine-task: a --> b -->"), None);
        assert_eq!(marker_id(""), None);
        assert!(!exportable_id("A -->"));
    }

    #[test]
    fn imported_numbers_need_the_exact_line() {
        assert_eq!(
            imported_number("x\n**GitHub:** #12 https://h/12\n"),
            Some(12)
        );
        assert_eq!(imported_number("**GitHub:** #12"), Some(12));
        assert_eq!(imported_number("> \\*\\*GitHub:\\*\\* #12"), None);
        assert_eq!(imported_number("**GitHub:** #12x"), None);
    }

    #[test]
    fn hostile_bodies_are_quoted_and_escaped() {
        let body =
            "### TASK-999: evil\r\n- [x] done\n**Depends on:** TASK-1\n```\n\n**GitHub:** #1\u{7}";
        assert_eq!(
            quoted_body(body),
            [
                "> ### TASK-999: evil",
                "> - [x] done",
                "> \\*\\*Depends on:\\*\\* TASK-1",
                "> ```",
                ">",
                "> \\*\\*GitHub:\\*\\* #1",
            ]
        );
        assert_eq!(one_line("a\n### TASK-2: b\r\tc  "), "a ### TASK-2: b c");
    }

    #[test]
    fn a_task_block_has_header_status_link_and_quote() {
        let task = ImportedTask {
            id: "TASK-004",
            title: "Fix\nit",
            done: false,
            number: 7,
            url: "https://github.com/o/r/issues/7",
            body: "Steps",
        };
        assert_eq!(
            task_block(&task, false),
            "### TASK-004: Fix it\nP2 | TODO\n**GitHub:** #7 https://github.com/o/r/issues/7\n\n> Steps\n\n"
        );
        let bad_url = ImportedTask {
            url: "javascript:x **Depends on:** A-1",
            body: "",
            done: true,
            ..task
        };
        assert_eq!(
            task_block(&bad_url, true),
            "### TASK-004: Fix it\n🟡 P2 | ✅ DONE\n**GitHub:** #7\n\n"
        );
    }
}
