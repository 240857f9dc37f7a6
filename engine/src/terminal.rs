//! Text for a terminal. Workflow names, stage ids and messages, task titles and agent text are
//! untrusted: a title holding `ESC ] 0 ; ... BEL` retitles the window, `ESC [ 2 J` clears the
//! screen, a carriage return overwrites what was printed. Everything engine prints that came
//! from a workflow, a task source, a stage or an agent goes through [`safe`] (one line) or
//! [`safe_lines`] (text of several lines) first; table cells are also clipped with [`cell`].

use std::borrow::Cow;
use std::fmt::Write as _;

/// The longest table cell engine prints; longer text is cut with `…` (the JSON output keeps it
/// whole).
pub const MAX_CELL_CHARS: usize = 200;

/// `text` with every control character escaped (`\n`, `\r`, `\t`, `\x1b`, `\u{9b}`), and the
/// bidirectional overrides that reorder what a reader sees: safe to print as one line.
pub fn safe(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// Like [`safe`], but line feeds and tabs stay as they are: for messages of several lines.
pub fn safe_lines(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

/// [`safe`] text cut to at most [`MAX_CELL_CHARS`] characters, for table cells.
pub fn cell(text: &str) -> String {
    clip(&safe(text), MAX_CELL_CHARS)
}

/// `text` cut to at most `max` characters, the last one `…` when it was cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `text` padded with spaces to `width` characters (never a format width: those are limited
/// to 65,535 and panic past it).
pub fn pad(text: &str, width: usize) -> String {
    let len = text.chars().count();
    let mut out = String::with_capacity(text.len() + width.saturating_sub(len));
    out.push_str(text);
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(len)));
    out
}

fn escape(text: &str, keep_lines: bool) -> Cow<'_, str> {
    if !text.chars().any(|c| needs_escape(c, keep_lines)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !needs_escape(c, keep_lines) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_ascii() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            // `\u{hex}`, lowercase, no leading zeros.
            c => out.extend(c.escape_unicode()),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char, keep_lines: bool) -> bool {
    if keep_lines && (c == '\n' || c == '\t') {
        return false;
    }
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_sequences() {
        assert_eq!(safe("\x1b]0;pwned\x07title"), "\\x1b]0;pwned\\x07title");
        assert_eq!(safe("a\x1b[2Jb\r\n"), "a\\x1b[2Jb\\r\\n");
        assert_eq!(safe("\u{9b}31m \u{202e}x"), "\\u{9b}31m \\u{202e}x");
        assert_eq!(safe_lines("one\n\ttwo\x1b[0m"), "one\n\ttwo\\x1b[0m");
        assert!(matches!(safe("plain text ✓"), Cow::Borrowed(_)));
    }

    #[test]
    fn clips_and_pads_by_characters() {
        assert_eq!(clip("ééééé", 3), "éé…");
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(pad("é", 3), "é  ");
        assert_eq!(pad(&"x".repeat(70_000), 70_001).len(), 70_001);
        assert_eq!(cell(&"y".repeat(1_000)).chars().count(), MAX_CELL_CHARS);
    }
}
