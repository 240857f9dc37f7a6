//! The task of a run started from text (`engine run --task`, `--task-file`,
//! `engine plugin run --task`) rather than from a task source.

use engine_core::Task;
use sha2::{Digest, Sha256};

/// The longest title taken from the text's first line, in characters.
const TITLE_CHARS: usize = 100;

/// The task for `text` (already trimmed, not empty): id `t` + the first 8 hex digits of the
/// text's sha256 (the same text always gives the same id), title its first line (at most 100
/// characters), body the whole text.
pub fn from_text(text: &str, labels: Vec<String>) -> Task {
    let title: String = text
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(TITLE_CHARS)
        .collect();
    let digest = hex::encode(Sha256::digest(text.as_bytes()));
    Task {
        id: format!("t{}", &digest[..8]),
        title,
        body: text.to_string(),
        labels,
    }
}

/// The task of a run given no text: id `adhoc`, titled `run of NAME`.
pub fn unnamed(name: &str, labels: Vec<String>) -> Task {
    Task {
        id: "adhoc".into(),
        title: format!("run of {name}"),
        body: String::new(),
        labels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_follows_the_text_and_the_title_is_its_first_line() {
        let a = from_text("Add a flag\n\nDetails.", vec!["x".into()]);
        assert_eq!(a.id, from_text("Add a flag\n\nDetails.", Vec::new()).id);
        assert_ne!(a.id, from_text("Add a flag", Vec::new()).id);
        assert!(a.id.starts_with('t') && a.id.len() == 9, "{}", a.id);
        assert_eq!(a.title, "Add a flag");
        assert_eq!(a.labels, vec!["x".to_string()]);
        let long = "é".repeat(300);
        assert_eq!(from_text(&long, Vec::new()).title.chars().count(), 100);
        assert_eq!(unnamed("wf", Vec::new()).title, "run of wf");
    }
}
