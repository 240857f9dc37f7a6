//! The metadata line of a task: `🔴 P0 | ⬜ TODO | Est: 2d`, with or without the emoji.
//!
//! Reading finds the priority, the status and the estimate; writing replaces only the status
//! (emoji and word) and keeps every other byte of the line.

use std::ops::Range;

use engine_source_sdk::TaskStatus;

/// Priority emoji, `P0` to `P3`.
const PRIORITY_EMOJI: [&str; 4] = ["🔴", "🟠", "🟡", "🟢"];

/// Status emoji as spec-runner writes them. `⏸` is also accepted without its variation
/// selector.
const STATUS_EMOJI: [(&str, TaskStatus); 5] = [
    ("⬜", TaskStatus::Todo),
    ("🔄", TaskStatus::InProgress),
    ("✅", TaskStatus::Done),
    ("⏸\u{fe0f}", TaskStatus::Blocked),
    ("⏸", TaskStatus::Blocked),
];

/// A metadata line, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Metadata {
    /// `P0` is 0.
    pub(crate) priority: u8,
    /// Whether the priority has its emoji (the line's style).
    pub(crate) emoji_style: bool,
    /// The status.
    pub(crate) status: TaskStatus,
    /// The status as written (`IN_PROGRESS`, `done`, or the emoji alone).
    pub(crate) raw_status: String,
    /// The estimate after `Est:`, if any.
    pub(crate) estimate: Option<String>,
    /// Bytes of the line holding the status (emoji, spaces, word).
    status_span: Range<usize>,
    /// Whether the status has an emoji.
    status_emoji: bool,
    /// The status word as written (empty when only the emoji is there).
    word: String,
    /// An emoji that says something else than the word (the word wins).
    pub(crate) emoji_mismatch: Option<String>,
}

/// What a line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Line {
    /// Not a metadata line.
    Other,
    /// A metadata line.
    Metadata(Metadata),
    /// A metadata line that cannot be read; the message says why.
    Bad(String),
}

/// Reads `line` (without its line ending). A metadata line starts with the priority (`P0`,
/// `p0` or `🔴 P0`) followed by `|`.
pub(crate) fn read(line: &str) -> Line {
    let mut rest = line;
    let mut emoji_style = false;
    if let Some(after) = PRIORITY_EMOJI.iter().find_map(|e| rest.strip_prefix(e)) {
        rest = after.trim_start();
        emoji_style = true;
    }
    let Some(digits) = rest.strip_prefix('P').or_else(|| rest.strip_prefix('p')) else {
        return Line::Other;
    };
    let digits_len = digits.bytes().take_while(u8::is_ascii_digit).count();
    let after_digits = digits[digits_len..].trim_start();
    if digits_len == 0 || !after_digits.starts_with('|') {
        return Line::Other;
    }
    let Ok(priority) = digits[..digits_len].parse::<u8>() else {
        return Line::Bad(format!(
            "priority P{} is out of range (P0 is the highest; at most P255)",
            &digits[..digits_len]
        ));
    };
    // The status segment: after the first `|`, up to the next one.
    let segment_start = line.len() - after_digits.len() + 1;
    let segment_end = line[segment_start..]
        .find('|')
        .map_or(line.len(), |i| segment_start + i);
    let segment = &line[segment_start..segment_end];
    let content_start = segment_start + (segment.len() - segment.trim_start().len());
    let emoji = STATUS_EMOJI
        .iter()
        .find(|(e, _)| line[content_start..].starts_with(e));
    let emoji_end = content_start + emoji.map_or(0, |(e, _)| e.len());
    let after_emoji = &line[emoji_end..segment_end];
    let word_start = emoji_end + (after_emoji.len() - after_emoji.trim_start().len());
    let word = status_word(&line[word_start..segment_end]);
    let span_end = if word.is_empty() {
        emoji_end
    } else {
        word_start + word.len()
    };
    let (status, raw_status, emoji_mismatch) = match (normalize(word), emoji) {
        (Some(status), Some((e, from_emoji))) if status != *from_emoji => {
            (status, word.to_string(), Some((*e).to_string()))
        }
        (Some(status), _) => (status, word.to_string(), None),
        (None, Some((e, from_emoji))) if word.is_empty() => (*from_emoji, e.to_string(), None),
        (None, _) if word.is_empty() => {
            return Line::Bad(
                "metadata line without a status: write TODO, IN_PROGRESS, DONE or BLOCKED after \
                 the first `|`"
                    .to_string(),
            );
        }
        (None, _) => {
            return Line::Bad(format!(
                "unknown status `{word}`: use TODO, IN_PROGRESS, DONE or BLOCKED"
            ));
        }
    };
    Line::Metadata(Metadata {
        priority,
        emoji_style,
        status,
        raw_status,
        estimate: estimate(line),
        status_span: content_start..span_end,
        status_emoji: emoji.is_some(),
        word: word.to_string(),
        emoji_mismatch,
    })
}

/// The status word at the start of `text`: letters, digits and `_` (`IN PROGRESS` is one word).
fn status_word(text: &str) -> &str {
    let len = text
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    let word = &text[..len];
    if word.eq_ignore_ascii_case("in") {
        let after = &text[len..];
        let spaces = after.len() - after.trim_start_matches(' ').len();
        let next = &after[spaces..];
        // `progress` must end the word: `In Progressx` is not a status (write-back would
        // leave the `x` behind the new word and make the line unreadable).
        let word_ends = |rest: &str| {
            !rest
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        };
        if spaces > 0
            && next
                .get(..8)
                .is_some_and(|p| p.eq_ignore_ascii_case("progress"))
            && next.get(8..).is_some_and(word_ends)
        {
            return &text[..len + spaces + 8];
        }
    }
    word
}

/// `todo`, `In Progress`, `IN-PROGRESS`, `done`... as a status.
fn normalize(word: &str) -> Option<TaskStatus> {
    let canonical: String = word
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    match canonical.as_str() {
        "TODO" => Some(TaskStatus::Todo),
        "IN_PROGRESS" => Some(TaskStatus::InProgress),
        "DONE" => Some(TaskStatus::Done),
        "BLOCKED" => Some(TaskStatus::Blocked),
        _ => None,
    }
}

/// The text after `Est:` up to the next `|`, if not empty.
fn estimate(line: &str) -> Option<String> {
    let at = line.find("Est:")?;
    let rest = &line[at + "Est:".len()..];
    let value = rest.split('|').next().unwrap_or_default().trim();
    (!value.is_empty()).then(|| value.to_string())
}

/// The emoji of a status.
fn status_emoji(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Todo => "⬜",
        TaskStatus::InProgress => "🔄",
        TaskStatus::Done => "✅",
        TaskStatus::Blocked => "⏸\u{fe0f}",
    }
}

/// The status word spec-runner writes.
fn status_text(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Todo => "TODO",
        TaskStatus::InProgress => "IN_PROGRESS",
        TaskStatus::Done => "DONE",
        TaskStatus::Blocked => "BLOCKED",
    }
}

/// `line` with its status replaced by `status`, in the style the line already uses (emoji or
/// not, lowercase or not); every other byte is kept.
pub(crate) fn rewrite(line: &str, metadata: &Metadata, status: TaskStatus) -> String {
    let old = &line[metadata.status_span.clone()];
    let mut word = status_text(status).to_string();
    let lowercase = metadata.word.chars().any(|c| c.is_ascii_alphabetic())
        && !metadata.word.chars().any(|c| c.is_ascii_uppercase());
    if lowercase {
        word = word.to_ascii_lowercase();
    }
    let replacement = match (metadata.status_emoji, metadata.word.is_empty()) {
        (true, true) => status_emoji(status).to_string(),
        (true, false) => {
            // Keep the spaces between the emoji and the word as they are.
            let emoji_len = STATUS_EMOJI
                .iter()
                .find(|(e, _)| old.starts_with(e))
                .map_or(0, |(e, _)| e.len());
            let word_at = old.len() - metadata.word.len();
            format!(
                "{}{}{word}",
                status_emoji(status),
                &old[emoji_len.min(word_at)..word_at]
            )
        }
        (false, _) => word,
    };
    format!(
        "{}{replacement}{}",
        &line[..metadata.status_span.start],
        &line[metadata.status_span.end..]
    )
}

/// A new metadata line for a task that had none: `🔴 P0 | 🔄 IN_PROGRESS` or, when
/// `emoji_style` is false, `P0 | IN_PROGRESS`.
pub(crate) fn new_line(priority: u8, emoji_style: bool, status: TaskStatus) -> String {
    if emoji_style {
        let emoji = PRIORITY_EMOJI[usize::from(priority.min(3))];
        format!(
            "{emoji} P{priority} | {} {}",
            status_emoji(status),
            status_text(status)
        )
    } else {
        format!("P{priority} | {}", status_text(status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(line: &str) -> Metadata {
        match read(line) {
            Line::Metadata(m) => m,
            other => panic!("{line:?}: {other:?}"),
        }
    }

    #[test]
    fn lines_with_and_without_emoji_are_read() {
        let m = meta("🔴 P0 | ⬜ TODO | Est: 2d");
        assert_eq!(
            (m.priority, m.emoji_style, m.status, m.raw_status.as_str()),
            (0, true, TaskStatus::Todo, "TODO")
        );
        assert_eq!(m.estimate.as_deref(), Some("2d"));
        let m = meta("P2|IN_PROGRESS|Est: 1-2d ");
        assert_eq!((m.priority, m.status), (2, TaskStatus::InProgress));
        assert_eq!(m.estimate.as_deref(), Some("1-2d"));
        assert_eq!(meta("🟢 P3 | ⏸ BLOCKED").status, TaskStatus::Blocked);
        assert_eq!(meta("🟢 P3 | ⏸️ BLOCKED").status, TaskStatus::Blocked);
        assert_eq!(meta("P1 | 🔄 In Progress").status, TaskStatus::InProgress);
        assert_eq!(meta("P1 | done (merged)").status, TaskStatus::Done);
        assert_eq!(meta("p2 | todo").priority, 2);
        let m = meta("P1 | ✅");
        assert_eq!((m.status, m.raw_status.as_str()), (TaskStatus::Done, "✅"));
        assert_eq!(meta("P0 | ✅ TODO").emoji_mismatch.as_deref(), Some("✅"));
    }

    #[test]
    fn other_lines_are_not_metadata() {
        for line in [
            "Implement the login",
            "P0 is the most urgent",
            "- P0 | TODO",
            " P0 | TODO",
            "Priority | TODO",
            "",
        ] {
            assert_eq!(read(line), Line::Other, "{line:?}");
        }
    }

    #[test]
    fn bad_metadata_lines_say_why() {
        let bad = |line: &str| match read(line) {
            Line::Bad(message) => message,
            other => panic!("{line:?}: {other:?}"),
        };
        assert!(bad("P0 | DOING").contains("unknown status `DOING`"));
        // Found by tests/fuzz_tasks.rs: read as In Progress, written back as `DONEx`.
        assert!(bad("P3 | 🔄 In Progressx | Est: 1w").contains("unknown status `In`"));
        assert!(bad("P0 | | Est: 2d").contains("without a status"));
        assert!(bad("P999 | TODO").contains("out of range"));
    }

    #[test]
    fn rewriting_changes_only_the_status_in_the_line_s_style() {
        let cases = [
            (
                "🔴 P0 | ⬜ TODO | Est: 2d",
                TaskStatus::Done,
                "🔴 P0 | ✅ DONE | Est: 2d",
            ),
            (
                "P1 | TODO | Est: 4h",
                TaskStatus::InProgress,
                "P1 | IN_PROGRESS | Est: 4h",
            ),
            ("P1|todo", TaskStatus::Blocked, "P1|blocked"),
            (
                "🟠 P1 | 🔄  IN PROGRESS",
                TaskStatus::Todo,
                "🟠 P1 | ⬜  TODO",
            ),
            ("P0 | ⏸ BLOCKED", TaskStatus::Done, "P0 | ✅ DONE"),
            ("P0 | ✅", TaskStatus::Todo, "P0 | ⬜"),
            ("P0 | ✅ | Est: 1d", TaskStatus::Todo, "P0 | ⬜ | Est: 1d"),
            (
                "P0 | TODO (after review) | Est: 1d",
                TaskStatus::Done,
                "P0 | DONE (after review) | Est: 1d",
            ),
        ];
        for (line, status, expected) in cases {
            assert_eq!(rewrite(line, &meta(line), status), expected, "{line:?}");
            assert_eq!(meta(expected).status, status, "{expected:?} reads back");
        }
    }

    #[test]
    fn new_lines_follow_the_file_s_style() {
        assert_eq!(
            new_line(0, true, TaskStatus::InProgress),
            "🔴 P0 | 🔄 IN_PROGRESS"
        );
        assert_eq!(new_line(7, true, TaskStatus::Done), "🟢 P7 | ✅ DONE");
        assert_eq!(new_line(0, false, TaskStatus::Done), "P0 | DONE");
    }
}
