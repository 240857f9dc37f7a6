//! Branch names derived from tasks.

/// The slug used when a text has no usable characters.
const FALLBACK_SLUG: &str = "task";

/// Longest slug of a task id inside a branch name.
const MAX_ID_LEN: usize = 32;

/// Longest slug of a task title inside a branch name.
const MAX_TITLE_LEN: usize = 40;

/// Turns `text` into a slug: lowercase ASCII letters, digits and single dashes, no leading or
/// trailing dash, at most `max_len` bytes (cut at a dash when one falls in the second half of
/// the allowance). Every other character becomes a dash. An empty result becomes `"task"`.
///
/// ```
/// assert_eq!(engine_git::slugify("Fix the  Login_Bug!", 40), "fix-the-login-bug");
/// assert_eq!(engine_git::slugify("¿¡!", 40), "task");
/// ```
pub fn slugify(text: &str, max_len: usize) -> String {
    let slug = slug_or_empty(text, max_len);
    if slug.is_empty() {
        FALLBACK_SLUG.to_string()
    } else {
        slug
    }
}

/// The branch a run for this task works on: `engine/<id>-<title>`, both parts slugified (the
/// id keeps its digits and letters, lowercased). Always valid for `git check-ref-format
/// --branch`; use [`crate::Repo::unique_branch_name`] to avoid collisions.
///
/// ```
/// assert_eq!(engine_git::branch_name("GH-42", "Add dark mode"), "engine/gh-42-add-dark-mode");
/// assert_eq!(engine_git::branch_name("", ""), "engine/task");
/// ```
pub fn branch_name(task_id: &str, title: &str) -> String {
    let id = slug_or_empty(task_id, MAX_ID_LEN);
    let title = slug_or_empty(title, MAX_TITLE_LEN);
    let leaf = match (id.is_empty(), title.is_empty()) {
        (true, true) => FALLBACK_SLUG.to_string(),
        (false, true) => id,
        (true, false) => title,
        (false, false) => format!("{id}-{title}"),
    };
    format!("engine/{leaf}")
}

/// The slug of `text`, possibly empty.
fn slug_or_empty(text: &str, max_len: usize) -> String {
    let mut slug = String::with_capacity(text.len().min(max_len.saturating_add(1)));
    for ch in text.chars() {
        let ch = ch.to_ascii_lowercase();
        if ch.is_ascii_lowercase() || ch.is_ascii_digit() {
            slug.push(ch);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.len() <= max_len {
        return slug.to_string();
    }
    // Everything is ASCII, so any byte index is a char boundary.
    let cut = &slug[..max_len];
    let clean_cut = slug.as_bytes()[max_len] == b'-';
    let cut = if clean_cut {
        cut
    } else {
        match cut.rfind('-') {
            Some(dash) if dash >= max_len / 2 => &cut[..dash],
            _ => cut,
        }
    };
    cut.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::run_git;
    use std::path::Path;

    #[test]
    fn slugify_basics() {
        assert_eq!(slugify("Hello, World", 40), "hello-world");
        assert_eq!(slugify("  --a--b--  ", 40), "a-b");
        assert_eq!(slugify("", 40), "task");
        assert_eq!(slugify("日本語", 40), "task");
        assert_eq!(slugify("Ünïcode façade", 40), "n-code-fa-ade");
        assert_eq!(slugify("v1.2.3 release", 40), "v1-2-3-release");
    }

    #[test]
    fn slugify_cuts_at_dash_boundary() {
        assert_eq!(slugify("alpha beta gamma", 12), "alpha-beta");
        // The cut falls exactly before a dash.
        assert_eq!(slugify("alpha beta gamma", 10), "alpha-beta");
        // No dash in the second half: hard cut.
        assert_eq!(slugify("a supercalifragilistic", 10), "a-supercal");
        assert_eq!(slugify("abcdefghij", 4), "abcd");
        for len in 1..30 {
            let slug = slugify("the quick brown fox jumps over the lazy dog", len);
            assert!(slug.len() <= len, "{slug} longer than {len}");
            assert!(!slug.ends_with('-') && !slug.starts_with('-'), "{slug}");
        }
    }

    #[test]
    fn branch_names() {
        assert_eq!(
            branch_name("PROJ#42", "Fix: crash on start"),
            "engine/proj-42-fix-crash-on-start"
        );
        assert_eq!(branch_name("", "Title only"), "engine/title-only");
        assert_eq!(branch_name("7", ""), "engine/7");
        assert_eq!(branch_name("..", "@{}"), "engine/task");
    }

    #[test]
    fn branch_names_pass_check_ref_format() {
        let long_id = "very-long-id-".repeat(10);
        let long_title = "very long title ".repeat(10);
        let inputs = [
            ("", ""),
            ("..", ".lock"),
            ("a.lock", "b.lock"),
            ("-x", "-y-"),
            ("@", "@{u}"),
            ("x/y", "a//b\\c"),
            ("HEAD", "HEAD"),
            ("id with spaces", "tab\there\nnewline"),
            ("ÅÄÖ", "emoji 🚀 launch"),
            (long_id.as_str(), long_title.as_str()),
        ];
        for (id, title) in inputs {
            let name = branch_name(id, title);
            let output = run_git(Path::new("/"), &["check-ref-format", "--branch", &name]).unwrap();
            assert!(
                output.status.success(),
                "{name:?} from {id:?}/{title:?}: {}",
                output.stderr
            );
            assert!(name.len() <= "engine/".len() + MAX_ID_LEN + 1 + MAX_TITLE_LEN);
        }
    }
}
