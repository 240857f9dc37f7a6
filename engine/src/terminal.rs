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

/// Whether output to a stream may be coloured: only a terminal, never with `NO_COLOR` set to
/// anything but the empty string (<https://no-color.org>) nor on a `TERM=dumb` terminal.
pub fn colour_wanted(
    is_terminal: bool,
    no_color: Option<&std::ffi::OsStr>,
    term: Option<&std::ffi::OsStr>,
) -> bool {
    is_terminal && no_color.is_none_or(std::ffi::OsStr::is_empty) && term != Some("dumb".as_ref())
}

/// Whether engine colours what it prints on stderr (see [`colour_wanted`]); decided once.
pub fn stderr_colour() -> bool {
    static DECIDED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DECIDED.get_or_init(|| {
        use std::io::IsTerminal as _;
        colour_wanted(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
            std::env::var_os("TERM").as_deref(),
        )
    })
}

/// How a line engine prints looks on a colour terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Success (`✓`).
    Good,
    /// Failure and errors (`✗`, `error:`).
    Bad,
    /// Warnings and waits (`warning:`, `⏸`, `!`).
    Warn,
    /// Structure (`▶`, `run ... started`).
    Plain,
}

/// `text` painted in `tone` when `colour`, as is otherwise. `text` must already be [`safe`]:
/// the only escape sequences in the result are the ones added here.
pub fn paint(text: &str, tone: Tone, colour: bool) -> String {
    use clap::builder::styling::{AnsiColor, Style};
    let style = match tone {
        Tone::Good => AnsiColor::Green.on_default(),
        Tone::Bad => AnsiColor::Red.on_default().bold(),
        Tone::Warn => AnsiColor::Yellow.on_default(),
        Tone::Plain => Style::new().bold(),
    };
    if colour {
        format!("{style}{text}{style:#}")
    } else {
        text.to_string()
    }
}

/// The tone of a progress or message line, from its leading mark (`✓`, `✗`, `warning:`...).
pub fn tone_of(line: &str) -> Option<Tone> {
    let line = line.trim_start();
    let starts = |marks: &[&str]| marks.iter().any(|m| line.starts_with(m));
    if starts(&["✓"]) {
        Some(Tone::Good)
    } else if starts(&["✗", "error:", "■"]) {
        Some(Tone::Bad)
    } else if starts(&["warning:", "⏸", "!", "⏱"]) {
        Some(Tone::Warn)
    } else if starts(&["▶"]) {
        Some(Tone::Plain)
    } else {
        None
    }
}

/// A line for stderr: painted by its [`tone_of`] when stderr is a colour terminal. `line` must
/// already be [`safe`].
pub fn for_stderr(line: &str) -> Cow<'_, str> {
    match tone_of(line) {
        Some(tone) if stderr_colour() => Cow::Owned(paint(line, tone, true)),
        _ => Cow::Borrowed(line),
    }
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
    fn colour_only_on_a_terminal_without_no_color() {
        use std::ffi::OsStr;
        let xterm = Some(OsStr::new("xterm-256color"));
        assert!(colour_wanted(true, None, xterm));
        assert!(colour_wanted(true, None, None));
        // NO_COLOR set to anything but "" turns it off; "" does not count as set.
        assert!(!colour_wanted(true, Some(OsStr::new("1")), xterm));
        assert!(colour_wanted(true, Some(OsStr::new("")), xterm));
        // Never into a pipe or a file, nor on a dumb terminal.
        assert!(!colour_wanted(false, None, xterm));
        assert!(!colour_wanted(true, None, Some(OsStr::new("dumb"))));
    }

    #[test]
    fn lines_are_painted_by_their_mark() {
        assert_eq!(paint("✓ test", Tone::Good, false), "✓ test");
        assert_eq!(paint("✓ test", Tone::Good, true), "\x1b[32m✓ test\x1b[0m");
        assert_eq!(
            paint("error: x", Tone::Bad, true),
            "\x1b[1m\x1b[31merror: x\x1b[0m"
        );
        assert_eq!(tone_of("✗ test (attempt 1)"), Some(Tone::Bad));
        assert_eq!(tone_of("warning: x"), Some(Tone::Warn));
        assert_eq!(tone_of("  a · running"), None);
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
