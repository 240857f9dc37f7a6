//! The constitution's rules: what every reviewer checks one by one.
//!
//! A rule is a top-level list item of the file (`- ...`, `* ...`, `1. ...`), with its
//! continuation lines; headings and other text are context, shown to agents as written. A file
//! without list items is one rule: its whole text.

/// The rules of `text`, in order, each trimmed and on one line.
pub fn rules(text: &str) -> Vec<String> {
    let mut rules: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    let mut in_fence = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let top_level = !line.starts_with(' ') && !line.starts_with('\t');
        if top_level && let Some(item) = list_item(line) {
            rules.extend(current.take());
            current = Some(item.trim().to_string());
            continue;
        }
        match &mut current {
            Some(rule) if !line.trim().is_empty() && !top_level => {
                rule.push(' ');
                rule.push_str(line.trim());
            }
            Some(_) => rules.extend(current.take()),
            None => {}
        }
    }
    rules.extend(current);
    rules.retain(|r| !r.is_empty());
    if rules.is_empty() && !text.trim().is_empty() {
        rules.push(text.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    rules
}

/// The text of a list item line (`- x`, `* x`, `+ x`, `12. x`, `3) x`), without its marker.
fn list_item(line: &str) -> Option<&str> {
    for marker in ["- ", "* ", "+ "] {
        if let Some(rest) = line.strip_prefix(marker) {
            return Some(rest.strip_prefix("[ ] ").unwrap_or(rest));
        }
    }
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 3 {
        return None;
    }
    let rest = &line[digits..];
    rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") "))
}

#[cfg(test)]
mod tests {
    use super::rules;

    #[test]
    fn list_items_are_rules_with_their_continuation_lines() {
        let text = "# Constitution\n\nWe care.\n\n- No unwrap in library code.\n- Every public\n  item has a doc comment.\n* Errors name the file.\n1. Tests never sleep.\n\n## More\n\n2) No network in tests.\n";
        assert_eq!(
            rules(text),
            vec![
                "No unwrap in library code.",
                "Every public item has a doc comment.",
                "Errors name the file.",
                "Tests never sleep.",
                "No network in tests.",
            ]
        );
    }

    #[test]
    fn nested_items_and_fenced_examples_are_not_rules() {
        let text = "- Top\n  - nested detail\n```\n- not a rule\n```\n";
        assert_eq!(rules(text), vec!["Top - nested detail"]);
    }

    #[test]
    fn text_without_items_is_one_rule_and_empty_text_none() {
        assert_eq!(rules("Be kind.\nAlways.\n"), vec!["Be kind. Always."]);
        assert!(rules(" \n\n").is_empty());
    }
}
