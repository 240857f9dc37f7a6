//! Task ids (`TASK-001`, `KAP-2`: an uppercase prefix, a dash, digits) and task headers
//! (`### TASK-001: Implement user login`).

/// Whether `c` may be part of a word around an id (so `XTASK-1` and `TASK-1a` are not ids).
fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// The length in bytes of the id at the start of `text` (ignoring what follows it), if any.
fn id_prefix_len(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    if !bytes.first()?.is_ascii_uppercase() {
        return None;
    }
    let mut i = 1;
    while i < bytes.len() && (bytes[i].is_ascii_uppercase() || bytes[i].is_ascii_digit()) {
        i += 1;
    }
    if bytes.get(i) != Some(&b'-') {
        return None;
    }
    let digits_start = i + 1;
    let mut end = digits_start;
    while end < bytes.len() && bytes[end].is_ascii_digit() {
        end += 1;
    }
    (end > digits_start).then_some(end)
}

/// Whether `text` is exactly one task id.
pub(crate) fn is_task_id(text: &str) -> bool {
    id_prefix_len(text) == Some(text.len())
}

/// Every id in `text` that stands as a word of its own (`[TASK-1], TASK-2 and TASK-3`), in
/// order, without repeats.
pub(crate) fn scan_ids(text: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let mut previous: Option<char> = None;
    for (start, c) in text.char_indices() {
        let at_boundary = previous.is_none_or(|p| !is_word(p));
        previous = Some(c);
        if !at_boundary || !c.is_ascii_uppercase() {
            continue;
        }
        let rest = &text[start..];
        if let Some(len) = id_prefix_len(rest)
            && !rest[len..]
                .chars()
                .next()
                .is_some_and(|n| n.is_ascii_alphanumeric() || n == '_')
        {
            let id = &rest[..len];
            if !ids.iter().any(|known| known == id) {
                ids.push(id.to_string());
            }
        }
    }
    ids
}

/// Whether a `Depends on:` / `Blocks:` value means "none" (`—`, `-`, `none`, empty).
pub(crate) fn means_none(text: &str) -> bool {
    let t = text.trim().trim_matches(|c| c == '*' || c == '_').trim();
    t.is_empty()
        || matches!(t, "—" | "–" | "-" | "--" | "n/a" | "N/A")
        || t.eq_ignore_ascii_case("none")
}

/// What a `### ` line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Header<'a> {
    /// Not a task header (another heading, or no heading at all).
    No,
    /// A task header.
    Task {
        /// The id.
        id: &'a str,
        /// The title, trimmed.
        title: &'a str,
    },
    /// A `### ` heading that starts like a task but is not one; the message says why.
    Malformed(String),
}

/// Reads a task header: `### ID: title`.
pub(crate) fn header(line: &str) -> Header<'_> {
    let Some(rest) = line.strip_prefix("### ") else {
        return Header::No;
    };
    let rest = rest.trim_start();
    let Some(len) = id_prefix_len(rest) else {
        return Header::No;
    };
    let id = &rest[..len];
    let after = &rest[len..];
    match after.strip_prefix(':') {
        Some(title) if !title.trim().is_empty() => Header::Task {
            id,
            title: title.trim(),
        },
        Some(_) => Header::Malformed(format!("task {id} has no title: write `### {id}: <title>`")),
        None if after.chars().next().is_some_and(|c| !c.is_whitespace()) => Header::No,
        None => Header::Malformed(format!(
            "this looks like the header of task {id} but has no `:` after the id; write \
             `### {id}: <title>`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_an_uppercase_prefix_a_dash_and_digits() {
        for id in ["TASK-001", "KAP-2", "A1B-17", "T-0"] {
            assert!(is_task_id(id), "{id}");
        }
        for not in ["task-1", "TASK-", "TASK-1a", "-1", "TASK_1", "TASK-1-2", ""] {
            assert!(!is_task_id(not), "{not}");
        }
    }

    #[test]
    fn ids_are_scanned_with_or_without_brackets() {
        assert_eq!(
            scan_ids("[TASK-001], TASK-2 and [TASK-10](#task-10), TASK-2"),
            ["TASK-001", "TASK-2", "TASK-10"]
        );
        assert_eq!(
            scan_ids("xTASK-1 TASK-1a TASK-1_b é-TASK-2 TASK-3."),
            ["TASK-3"]
        );
        assert_eq!(scan_ids("XTASK-1"), ["XTASK-1"]);
        assert!(scan_ids("see the API work").is_empty());
    }

    #[test]
    fn none_markers() {
        for none in ["—", " – ", "-", "none", "None", "", "*none*"] {
            assert!(means_none(none), "{none:?}");
        }
        assert!(!means_none("[TASK-1]"));
    }

    #[test]
    fn headers() {
        assert_eq!(
            header("### TASK-001: Implement user login "),
            Header::Task {
                id: "TASK-001",
                title: "Implement user login"
            }
        );
        assert_eq!(
            header("### KAP-2:No space"),
            Header::Task {
                id: "KAP-2",
                title: "No space"
            }
        );
        assert_eq!(header("### Notes"), Header::No);
        assert_eq!(header("## TASK-1: milestone level"), Header::No);
        assert_eq!(header("### TASK-1a: not an id"), Header::No);
        assert!(
            matches!(header("### TASK-1 Implement"), Header::Malformed(m) if m.contains("no `:`"))
        );
        assert!(matches!(header("### TASK-1:  "), Header::Malformed(m) if m.contains("no title")));
    }
}
