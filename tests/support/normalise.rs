//! The one normaliser for whole-output comparisons: what changes from one run of a test to the
//! next becomes a stable placeholder, so a snapshot holds exactly what a user reads and nothing
//! that varies.
//!
//! | varies | becomes |
//! |---|---|
//! | a path the test registered (the repository, an agent's directory...) | its name: `[REPO]` |
//! | the `engine` binary, the source tree | `[ENGINE]`, `[SOURCE]` |
//! | any other temporary directory (`/tmp/.tmpAbC123`) | `[TMP]` |
//! | a ULID (a run id), numbered by first appearance | `[RUN-1]`, `[RUN-2]`... |
//! | a commit hash, full or short: a commit of the test's repository (any 7 to 40 hex digits that begin one), or 7 to 40 hex digits with letters and digits both | `[SHA]` |
//! | an RFC 3339 timestamp | `[TIME]` |
//! | a measured duration as engine prints them (`850ms`, `25 ms`, `3.2s`, `4m05s`, `1h02m`) | `[DURATION]` |
//! | a number of milliseconds of a `_ms` field (`"duration_ms":25`, `duration_ms: 25`) | `[MS]` |
//! | a terminal colour sequence (`ESC[2m`: log lines are coloured) | removed |
//!
//! A duration written by a user (`10s`, `45m`) keeps its text: only the shapes engine's
//! `human_duration` and the gate's timings produce are replaced, and a `500ms` that follows
//! `, ` or `: ` (a list of examples, a setting) is left as written.
//!
//! engine pads table columns to their widest cell, so a placeholder changes the padding around
//! it: in a paragraph (lines between blank lines) where something was replaced, every run of
//! two or more spaces after a line's first word collapses to two. Paragraphs with nothing
//! replaced (a task table, validation errors) keep their exact alignment.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

/// Placeholders this module writes, to tell the paragraphs it changed.
const GENERATED: &[&str] = &["[RUN-", "[TMP]", "[SHA]", "[TIME]", "[DURATION]", "[MS]"];

/// Replaces what varies between runs of a test with placeholders (see the module docs).
#[derive(Debug, Clone)]
pub struct Normaliser {
    /// Literal texts and their placeholders, longest text first.
    literals: Vec<(String, String)>,
    /// `<temp dir>/.tmp`: the prefix of every `tempfile` directory.
    temp_prefix: String,
}

impl Default for Normaliser {
    fn default() -> Self {
        Normaliser::new()
    }
}

impl Normaliser {
    /// A normaliser knowing the `engine` binary and the source tree.
    pub fn new() -> Normaliser {
        let mut normaliser = Normaliser {
            literals: Vec::new(),
            temp_prefix: format!("{}/.tmp", std::env::temp_dir().display()),
        };
        normaliser.redact(&super::engine_bin(), "[ENGINE]");
        normaliser.redact(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join(".."),
            "[SOURCE]",
        );
        normaliser
    }

    /// Replaces `path` (as given and canonicalized) by `placeholder`, e.g. `[REPO]`.
    pub fn redact(&mut self, path: &Path, placeholder: &str) {
        let mut forms = vec![path.display().to_string()];
        if let Ok(canonical) = path.canonicalize() {
            forms.push(canonical.display().to_string());
        }
        for form in forms {
            if !form.is_empty() && !self.literals.iter().any(|(text, _)| *text == form) {
                self.literals.push((form, placeholder.to_string()));
            }
        }
        self.literals
            .sort_by_key(|(text, _)| std::cmp::Reverse(text.len()));
    }

    /// `text` with everything that varies replaced.
    pub fn normalise(&self, text: &str) -> String {
        self.normalise_with_commits(text, &[])
    }

    /// [`Self::normalise`], knowing the full hashes of the commits the text may name (a short
    /// hash of digits only is a commit's only if it begins one of these).
    pub fn normalise_with_commits(&self, text: &str, commits: &[String]) -> String {
        let mut text = strip_colours(text);
        for (literal, placeholder) in &self.literals {
            text = text.replace(literal.as_str(), placeholder);
        }
        let replaced = self.replace_patterns(&text, commits);
        let literal_placeholders: Vec<&str> =
            self.literals.iter().map(|(_, p)| p.as_str()).collect();
        collapse_columns(&replaced, &literal_placeholders)
    }

    fn replace_patterns(&self, text: &str, commits: &[String]) -> String {
        let mut out = String::with_capacity(text.len());
        let mut runs: HashMap<String, usize> = HashMap::new();
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if let Some(len) = json_milliseconds(rest, &out) {
                out.push_str("[MS]");
                rest = &rest[len..];
                continue;
            }
            let at_boundary = out.chars().next_back().is_none_or(|p| !p.is_alphanumeric());
            if at_boundary {
                if let Some(len) = self.temp_dir(rest, &out) {
                    out.push_str("[TMP]");
                    rest = &rest[len..];
                    continue;
                }
                if let Some(len) = timestamp(rest) {
                    out.push_str("[TIME]");
                    rest = &rest[len..];
                    continue;
                }
                if let Some(len) = ulid(rest) {
                    let next = runs.len() + 1;
                    let n = *runs.entry(rest[..len].to_string()).or_insert(next);
                    let _ = write!(out, "[RUN-{n}]");
                    rest = &rest[len..];
                    continue;
                }
                if let Some(len) = sha(rest, commits) {
                    out.push_str("[SHA]");
                    rest = &rest[len..];
                    continue;
                }
                if let Some(len) = duration(rest, &out) {
                    out.push_str("[DURATION]");
                    rest = &rest[len..];
                    continue;
                }
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        out
    }

    /// A `tempfile` directory (`<temp dir>/.tmpXXXXXX`) not already part of a longer path.
    fn temp_dir(&self, rest: &str, before: &str) -> Option<usize> {
        if before.ends_with(['/', '.', '_', '-']) {
            return None;
        }
        let tail = rest.strip_prefix(&self.temp_prefix)?;
        let random = tail.chars().take_while(char::is_ascii_alphanumeric).count();
        (random >= 6).then_some(self.temp_prefix.len() + random)
    }
}

/// `text` without terminal colour sequences (`ESC [ ... m`).
fn strip_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("\u{1b}[") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let params = after
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b';')
            .count();
        if after[params..].starts_with('m') {
            rest = &after[params + 1..];
        } else {
            out.push_str("\u{1b}[");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The digits of a number of milliseconds: the value of a `_ms` field, in JSON (`_ms":`,
/// `_ms": `) or as `key: value` (`_ms: `).
fn json_milliseconds(rest: &str, before: &str) -> Option<usize> {
    let n = digits(rest);
    let field = ["_ms\":", "_ms\": ", "_ms: "]
        .iter()
        .any(|end| before.ends_with(end));
    (n > 0 && field).then_some(n)
}

/// Length of the run of ASCII digits at the start of `s`.
fn digits(s: &str) -> usize {
    s.bytes().take_while(u8::is_ascii_digit).count()
}

/// Whether `s` at `len` ends a word (end of text or a character that is not alphanumeric).
fn word_ends(s: &str, len: usize) -> bool {
    s[len..].chars().next().is_none_or(|c| !c.is_alphanumeric())
}

/// An RFC 3339 timestamp: `2024-01-02T03:04:05Z`, optional fraction, `Z` or `+hh:mm`.
fn timestamp(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let shape = b"dddd-dd-ddTdd:dd:dd";
    if b.len() < shape.len() {
        return None;
    }
    for (i, want) in shape.iter().enumerate() {
        let ok = match want {
            b'd' => b[i].is_ascii_digit(),
            other => b[i] == *other,
        };
        if !ok {
            return None;
        }
    }
    let mut len = shape.len();
    if b.get(len) == Some(&b'.') && digits(&s[len + 1..]) > 0 {
        len += 1 + digits(&s[len + 1..]);
    }
    match b.get(len) {
        Some(b'Z') => Some(len + 1),
        Some(b'+' | b'-') if s.len() >= len + 6 && timestamp_offset(&s[len + 1..len + 6]) => {
            Some(len + 6)
        }
        _ => None,
    }
}

fn timestamp_offset(s: &str) -> bool {
    let b = s.as_bytes();
    b[0].is_ascii_digit() && b[1].is_ascii_digit() && b[2] == b':' && digits(&s[3..]) >= 2
}

/// A ULID: 26 characters of Crockford's base32 (uppercase), letters and digits both.
fn ulid(s: &str) -> Option<usize> {
    const ALPHABET: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let word: Vec<char> = s.chars().take(27).collect();
    if word.len() < 26 || !word[..26].iter().all(|c| ALPHABET.contains(*c)) {
        return None;
    }
    let has_digit = word[..26].iter().any(char::is_ascii_digit);
    let has_letter = word[..26].iter().any(char::is_ascii_uppercase);
    (has_digit && has_letter && word_ends(s, 26)).then_some(26)
}

/// A commit hash: 7 to 40 lowercase hex digits that begin one of `commits`, or that hold at
/// least one letter and one digit.
fn sha(s: &str, commits: &[String]) -> Option<usize> {
    let len = s
        .bytes()
        .take_while(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        .count();
    let word = &s[..len];
    let mixed =
        word.bytes().any(|b| b.is_ascii_digit()) && word.bytes().any(|b| b.is_ascii_alphabetic());
    let known = len > 0 && commits.iter().any(|c| c.starts_with(word));
    ((7..=40).contains(&len) && (mixed || known) && word_ends(s, len)).then_some(len)
}

/// A measured duration: `850ms`, `25 ms`, `3.2s`, `4m05s` or `1h02m`.
fn duration(s: &str, before: &str) -> Option<usize> {
    let whole = digits(s);
    if whole == 0 {
        return None;
    }
    let tail = &s[whole..];
    let len = if let Some(after) = tail.strip_prefix("ms").or_else(|| tail.strip_prefix(" ms")) {
        if before.ends_with(", ") || before.ends_with(": ") {
            return None;
        }
        s.len() - after.len()
    } else if let Some(fraction) = tail.strip_prefix('.') {
        let n = digits(fraction);
        (n > 0 && fraction[n..].starts_with('s')).then(|| whole + 1 + n + 1)?
    } else if let Some(seconds) = tail.strip_prefix('m') {
        (digits(seconds) == 2 && seconds[2..].starts_with('s')).then_some(whole + 4)?
    } else if let Some(minutes) = tail.strip_prefix('h') {
        (digits(minutes) == 2 && minutes[2..].starts_with('m')).then_some(whole + 4)?
    } else {
        return None;
    };
    word_ends(s, len).then_some(len)
}

/// In every paragraph holding a placeholder, collapses runs of 2+ spaces after a line's first
/// word to two spaces (column padding depends on the widths of what was replaced).
fn collapse_columns(text: &str, literal_placeholders: &[&str]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut paragraph: Vec<&str> = Vec::new();
    let flush = |paragraph: &mut Vec<&str>, out: &mut String| {
        let replaced = paragraph.iter().any(|line| {
            GENERATED.iter().any(|p| line.contains(p))
                || literal_placeholders.iter().any(|p| line.contains(p))
        });
        for line in paragraph.drain(..) {
            if replaced {
                out.push_str(&collapse_line(line));
            } else {
                out.push_str(line);
            }
        }
    };
    for line in text.split_inclusive('\n') {
        if line.trim().is_empty() {
            flush(&mut paragraph, &mut out);
            out.push_str(line);
        } else {
            paragraph.push(line);
        }
    }
    flush(&mut paragraph, &mut out);
    out
}

fn collapse_line(line: &str) -> String {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let mut out = line[..indent].to_string();
    let mut spaces = 0;
    for c in line[indent..].chars() {
        if c == ' ' {
            spaces += 1;
            continue;
        }
        if spaces > 0 {
            out.push_str(if spaces >= 2 { "  " } else { " " });
            spaces = 0;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_varies_becomes_placeholders() {
        let mut n = Normaliser::new();
        n.redact(Path::new("/home/u/repo"), "[REPO]");
        let text = "run 01J9ZK3M8Q4V7X2N5R6T8W0Y1A started: workflow ci on branch \
                    engine/t5761bab4-x (base main @ e0ad2e911f) at 2024-05-06T07:08:09Z\n\
                    ✓ build (attempt 1) 55ms  1 command passed in 25 ms, then 3.2s, 4m05s, 1h02m\n\
                    log: /home/u/repo/.engine/runs/01J9ZK3M8Q4V7X2N5R6T8W0Y1A/x.log\n";
        assert_eq!(
            n.normalise(text),
            "run [RUN-1] started: workflow ci on branch engine/t5761bab4-x (base main @ [SHA]) \
             at [TIME]\n✓ build (attempt 1) [DURATION]  1 command passed in [DURATION], then \
             [DURATION], [DURATION], [DURATION]\nlog: [REPO]/.engine/runs/[RUN-1]/x.log\n"
        );
    }

    #[test]
    fn colours_go_and_json_milliseconds_become_placeholders() {
        let n = Normaliser::new();
        let text = "\u{1b}[2m2026-12-06T16:44:09.710101Z\u{1b}[0m \u{1b}[33m WARN\u{1b}[0m x\n\
                    {\"duration_ms\":25,\"started_at_ms\": 1733500000000,\"exit_code\":1}\n\
                    duration_ms: 24\n";
        assert_eq!(
            n.normalise(text),
            "[TIME]  WARN x\n{\"duration_ms\":[MS],\"started_at_ms\": [MS],\"exit_code\":1}\n\
             duration_ms: [MS]\n"
        );
    }

    #[test]
    fn a_short_hash_of_digits_is_a_commit_only_if_one_begins_so() {
        let n = Normaliser::new();
        let commits = ["7403009aa1".to_string()];
        assert_eq!(
            n.normalise_with_commits("merged as 7403009; 5242891 bytes\n", &commits),
            "merged as [SHA]; 5242891 bytes\n"
        );
    }

    #[test]
    fn what_a_user_wrote_stays() {
        let n = Normaliser::new();
        let text = "timeout: \"soon\" is not a duration (examples: 45m, 10s, 1h 30m, 500ms)\n\
                    TASK-2   todo  P0   yes    Implement user login\n";
        assert_eq!(n.normalise(text), text);
    }

    #[test]
    fn columns_collapse_only_where_something_was_replaced() {
        let n = Normaliser::new();
        let text = "  stage  time   cost\n  build  105ms  -\n\nA   B\n";
        assert_eq!(
            n.normalise(text),
            "  stage  time  cost\n  build  [DURATION]  -\n\nA   B\n"
        );
    }
}
