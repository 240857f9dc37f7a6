//! Acceptance criteria extracted from a task's markdown body: checkbox items (`- [ ] item`)
//! anywhere, and the list items of an "Acceptance criteria" section.

/// The task's acceptance criteria, in order of appearance, without duplicates. Text inside
/// fenced code blocks is ignored.
pub fn extract(body: &str) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    let mut in_fence = false;
    let mut in_criteria = false;
    for line in body.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if let Some(title) = heading(trimmed) {
            in_criteria = is_criteria_title(title);
            continue;
        }
        let item = if let Some(text) = checkbox_item(trimmed) {
            Some(text)
        } else if in_criteria {
            list_item(trimmed)
        } else {
            None
        };
        if let Some(text) = item
            && !text.is_empty()
            && !items.iter().any(|known| known == text)
        {
            items.push(text.to_string());
        }
    }
    items
}

/// The title of a markdown heading (`## Title`) or a heading-like line (`**Title**`,
/// `Title:` alone on its line); `None` for anything else.
fn heading(line: &str) -> Option<&str> {
    if line.starts_with('#') {
        let title = line.trim_start_matches('#');
        if title.is_empty() || title.starts_with(' ') {
            return Some(title.trim());
        }
        return None;
    }
    if let Some(inner) = line.strip_prefix("**").and_then(|l| l.strip_suffix("**")) {
        return Some(inner.trim().trim_end_matches(':').trim());
    }
    if let Some(inner) = line
        .strip_prefix("**")
        .and_then(|l| l.strip_suffix(":**").or_else(|| l.strip_suffix("**:")))
    {
        return Some(inner.trim());
    }
    if let Some(title) = line.strip_suffix(':')
        && !title.is_empty()
        && list_item(line).is_none()
        && title.split_whitespace().count() <= 4
    {
        return Some(title.trim());
    }
    None
}

fn is_criteria_title(title: &str) -> bool {
    let title = title.to_ascii_lowercase();
    title.starts_with("acceptance criteri")
        || title == "acceptance"
        || title.starts_with("definition of done")
        || title == "done when"
}

/// `- [ ] text`, `* [x] text`, `1. [ ] text`: the text.
fn checkbox_item(line: &str) -> Option<&str> {
    strip_checkbox(list_text(line)?).map(str::trim)
}

/// `- text`, `* text`, `+ text`, `1. text`, `1) text`: the text (checkbox stripped).
fn list_item(line: &str) -> Option<&str> {
    let text = list_text(line)?;
    Some(strip_checkbox(text).unwrap_or(text).trim())
}

/// The text after a list bullet or number.
fn list_text(line: &str) -> Option<&str> {
    if let Some(rest) = line
        .strip_prefix("- ")
        .or_else(|| line.strip_prefix("* "))
        .or_else(|| line.strip_prefix("+ "))
    {
        return Some(rest.trim());
    }
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let after = &line[digits..];
    after
        .strip_prefix(". ")
        .or_else(|| after.strip_prefix(") "))
        .map(str::trim)
}

fn strip_checkbox(text: &str) -> Option<&str> {
    text.strip_prefix("[ ]")
        .or_else(|| text.strip_prefix("[x]"))
        .or_else(|| text.strip_prefix("[X]"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkbox_items_anywhere_are_criteria() {
        let body = "Intro\n- [ ] adds a --json flag\n  * [x] keeps the old output\nSome text\n- not a checkbox\n1. [ ] documents it\n";
        assert_eq!(
            extract(body),
            ["adds a --json flag", "keeps the old output", "documents it"]
        );
    }

    #[test]
    fn acceptance_criteria_section_items_are_criteria() {
        let body = "# Add export\nWe need it.\n\n## Acceptance criteria\n- exports CSV\n* handles empty input\n2) fails on bad paths\n\n## Notes\n- not a criterion\n";
        assert_eq!(
            extract(body),
            ["exports CSV", "handles empty input", "fails on bad paths"]
        );
    }

    #[test]
    fn heading_like_lines_start_a_section_too() {
        let body = "**Acceptance Criteria:**\n- one\n\nAcceptance criteria:\n- two\n\nDone when:\n- three\nOther:\n- four\n";
        assert_eq!(extract(body), ["one", "two", "three"]);
    }

    #[test]
    fn code_fences_and_duplicates_are_skipped() {
        let body = "## Acceptance criteria\n- [ ] same\n```\n- [ ] in code\n```\n- same\n- \n";
        assert_eq!(extract(body), ["same"]);
    }

    #[test]
    fn no_criteria_gives_an_empty_list() {
        assert!(extract("Just do it.\n- a plain list\n").is_empty());
        assert!(extract("").is_empty());
    }

    #[test]
    fn hashtags_are_not_headings() {
        let body = "## Acceptance criteria\n#hashtag\n- still in\n";
        assert_eq!(extract(body), ["still in"]);
    }
}
