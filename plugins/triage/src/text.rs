//! Task text as the rules see it: the text itself, its size, its words, and case-insensitive
//! whole-word matching of keywords and verbs (with simple inflections).

/// The task's text: the title, then the body unless the body already starts with the title
/// (a task given as `--task TEXT` has the first line as title and the whole text as body).
pub fn task_text(title: &str, body: &str) -> String {
    let (title, body) = (title.trim(), body.trim());
    if body.is_empty() {
        title.to_string()
    } else if title.is_empty() || body.starts_with(title) {
        body.to_string()
    } else {
        format!("{title}\n\n{body}")
    }
}

/// How big a task's text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TextSize {
    /// Characters of the text, surrounding whitespace excluded.
    pub chars: usize,
    /// Lines that are not blank.
    pub lines: usize,
}

impl TextSize {
    /// Measures `text`.
    pub fn of(text: &str) -> TextSize {
        TextSize {
            chars: text.trim().chars().count(),
            lines: text.lines().filter(|l| !l.trim().is_empty()).count(),
        }
    }

    /// `38 chars, 1 line`.
    pub fn describe(self) -> String {
        let s = if self.lines == 1 { "" } else { "s" };
        format!("{} chars, {} line{s}", self.chars, self.lines)
    }
}

/// The lowercase words of `text`: runs of letters and digits (`--json` gives `json`,
/// `race-condition` gives `race`, `condition`).
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether `word` is `base` or a simple inflection of it (`-s`, `-es`, `-d`, `-ed`, `-ing`,
/// `-y` → `-ies`/`-ied`, a final `-e` dropped before `-ing`). Both in lowercase. Bases
/// shorter than three letters only match exactly.
pub fn word_matches(word: &str, base: &str) -> bool {
    if word == base {
        return true;
    }
    if base.chars().count() < 3 || !word.starts_with(base) && !base.ends_with(['e', 'y']) {
        return false;
    }
    if let Some(rest) = word.strip_prefix(base)
        && matches!(rest, "s" | "es" | "d" | "ed" | "ing")
    {
        return true;
    }
    if let Some(stem) = base.strip_suffix('e')
        && word.strip_prefix(stem) == Some("ing")
    {
        return true;
    }
    if let Some(stem) = base.strip_suffix('y')
        && matches!(word.strip_prefix(stem), Some("ies" | "ied"))
    {
        return true;
    }
    false
}

/// Whether the words of `phrase` occur in `words`, next to each other and in order, each
/// matched by [`word_matches`]. A phrase without words never matches.
pub fn contains_phrase(words: &[String], phrase: &str) -> bool {
    let wanted = self::words(phrase);
    if wanted.is_empty() || wanted.len() > words.len() {
        return false;
    }
    words
        .windows(wanted.len())
        .any(|window| window.iter().zip(&wanted).all(|(w, b)| word_matches(w, b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_does_not_repeat_the_title() {
        assert_eq!(task_text("Fix it", "Fix it\n\nmore"), "Fix it\n\nmore");
        assert_eq!(task_text("Fix it", ""), "Fix it");
        assert_eq!(task_text("Title", "Body"), "Title\n\nBody");
        assert_eq!(task_text("", " Body "), "Body");
    }

    #[test]
    fn size_counts_characters_and_non_blank_lines() {
        let size = TextSize::of("  héllo\n\n world \n");
        assert_eq!(
            size,
            TextSize {
                chars: 13,
                lines: 2
            }
        );
        assert_eq!(size.describe(), "13 chars, 2 lines");
        assert_eq!(TextSize::of("x").describe(), "1 chars, 1 line");
    }

    #[test]
    fn words_are_lowercase_alphanumeric_runs() {
        assert_eq!(
            words("Add a --json flag to `src/Export.rs`!"),
            ["add", "a", "json", "flag", "to", "src", "export", "rs"]
        );
    }

    #[test]
    fn inflections_match_but_other_words_do_not() {
        for (word, base) in [
            ("fixes", "fix"),
            ("fixed", "fix"),
            ("fixing", "fix"),
            ("adds", "add"),
            ("renamed", "rename"),
            ("renaming", "rename"),
            ("typos", "typo"),
            ("copies", "copy"),
            ("tests", "test"),
        ] {
            assert!(word_matches(word, base), "{word} ~ {base}");
        }
        for (word, base) in [
            ("prefix", "fix"),
            ("fixture", "fix"),
            ("address", "add"),
            ("as", "a"),
            ("tested", "testing"),
        ] {
            assert!(!word_matches(word, base), "{word} !~ {base}");
        }
    }

    #[test]
    fn phrases_match_whole_words_in_order() {
        let w = words("There is a Race-Condition in the scheduler");
        assert!(contains_phrase(&w, "race condition"));
        assert!(contains_phrase(&w, "race-condition"));
        assert!(!contains_phrase(&w, "condition race"));
        assert!(!contains_phrase(&w, "sched"));
        assert!(!contains_phrase(&w, "  "));
    }
}
