//! Status write-back on the text of a `tasks.md`: pure, so it is tested on strings.
//!
//! Only the task with exactly the given id is touched (never a task whose id merely contains
//! it: `TASK-1` is not `TASK-10`), and in it only the status of its metadata line: the emoji
//! style, the priority, the estimate and everything else on the line stay as they are. A task
//! without a metadata line gets one right under its header, in the style of the file's other
//! metadata lines. With `tick_checklist`, marking a task done also ticks its checklist items.
//! Line endings (LF or CRLF) are kept line by line.

use engine_source_sdk::{SourceError, TaskStatus};

use crate::metadata;
use crate::parse::{self, Document};

/// Sets the status of task `id` in `text` (and ticks its checklist when `tick_checklist` and
/// the new status is done). Returns the new text, equal to `text` when nothing had to change.
pub fn set_status(
    text: &str,
    file: &str,
    id: &str,
    status: TaskStatus,
    tick_checklist: bool,
) -> Result<String, SourceError> {
    let doc = parse::parse(text, file);
    let index = target(&doc, file, id)?;
    let parsed = &doc.tasks[index];
    let clean = parse::lines(text);
    let mut raw: Vec<String> = text.split('\n').map(str::to_string).collect();
    match &parsed.metadata {
        Some((line, m)) => {
            if m.status != status {
                let content = metadata::rewrite(clean[*line], m, status);
                replace(&mut raw, *line, &content);
            }
        }
        None if status == TaskStatus::Todo => {}
        None => {
            let content = metadata::new_line(parsed.task.priority, doc.emoji_style, status);
            let header = parsed.header_line;
            let ending = if raw[header].ends_with('\r') {
                "\r"
            } else {
                ""
            };
            raw.insert(header + 1, format!("{content}{ending}"));
        }
    }
    if tick_checklist && status == TaskStatus::Done {
        // Lines after an inserted metadata line moved down by one.
        let shift = usize::from(parsed.metadata.is_none());
        for &line in &parsed.checklist_lines {
            if let Some(rest) = clean[line].strip_prefix("- [ ]") {
                replace(&mut raw, line + shift, &format!("- [x]{rest}"));
            }
        }
    }
    Ok(raw.join("\n"))
}

/// The index of task `id`; refuses an unknown id, a duplicated one, or a task whose own block
/// has a problem that makes its status unreadable.
pub(crate) fn target(doc: &Document, file: &str, id: &str) -> Result<usize, SourceError> {
    if !crate::ids::is_task_id(id) {
        return Err(SourceError::NotFound(format!(
            "{id:?} is not a task id: ids are an uppercase prefix, a dash and digits (TASK-001)"
        )));
    }
    let index = doc
        .find(id)
        .ok_or_else(|| SourceError::NotFound(format!("{file} has no task {id}")))?;
    let blocking: Vec<_> = doc
        .errors
        .iter()
        .filter(|p| p.task.is_some_and(|t| doc.tasks[t].task.id == id))
        .map(|p| p.diagnostic.clone())
        .collect();
    if blocking.is_empty() {
        Ok(index)
    } else {
        Err(SourceError::Malformed(blocking))
    }
}

/// Replaces the content of raw line `index`, keeping its `\r` (and a BOM on the first line).
fn replace(raw: &mut [String], index: usize, content: &str) {
    let Some(line) = raw.get_mut(index) else {
        return;
    };
    let ending = if line.ends_with('\r') { "\r" } else { "" };
    let bom = if index == 0 && line.starts_with('\u{feff}') {
        "\u{feff}"
    } else {
        ""
    };
    *line = format!("{bom}{content}{ending}");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines that differ between two texts of the same length, as (line, before, after).
    fn changed(before: &str, after: &str) -> Vec<(usize, String, String)> {
        let (a, b): (Vec<&str>, Vec<&str>) =
            (before.split('\n').collect(), after.split('\n').collect());
        assert_eq!(a.len(), b.len(), "line count changed:\n{after}");
        a.iter()
            .zip(&b)
            .enumerate()
            .filter(|(_, (x, y))| x != y)
            .map(|(i, (x, y))| (i + 1, x.to_string(), y.to_string()))
            .collect()
    }

    const PREFIXES: &str = "\
### TASK-1: One
🔴 P0 | ⬜ TODO | Est: 1d

### TASK-10: Ten
🟠 P1 | ⬜ TODO

### TASK-100: Hundred
P2 | TODO
";

    #[test]
    fn only_the_exact_id_changes_never_a_longer_one() {
        for (id, line, expected) in [
            ("TASK-1", 2, "🔴 P0 | ✅ DONE | Est: 1d"),
            ("TASK-10", 5, "🟠 P1 | ✅ DONE"),
            ("TASK-100", 8, "P2 | DONE"),
        ] {
            let after = set_status(PREFIXES, "t.md", id, TaskStatus::Done, false).unwrap();
            let diff = changed(PREFIXES, &after);
            assert_eq!(diff.len(), 1, "{id}: {diff:?}");
            assert_eq!((diff[0].0, diff[0].2.as_str()), (line, expected), "{id}");
        }
        let err = set_status(PREFIXES, "t.md", "TASK-1000", TaskStatus::Done, false).unwrap_err();
        assert_eq!(
            err,
            SourceError::NotFound("t.md has no task TASK-1000".into())
        );
        let err = set_status(PREFIXES, "t.md", "TASK", TaskStatus::Done, false).unwrap_err();
        assert!(matches!(err, SourceError::NotFound(m) if m.contains("not a task id")));
    }

    #[test]
    fn a_task_without_metadata_gets_one_line_in_the_file_s_style() {
        let text = "### TASK-1: A\nP1 | DONE\n\n### TASK-2: B\nDescription.\n";
        let after = set_status(text, "t.md", "TASK-2", TaskStatus::InProgress, false).unwrap();
        assert_eq!(
            after,
            "### TASK-1: A\nP1 | DONE\n\n### TASK-2: B\nP0 | IN_PROGRESS\nDescription.\n"
        );
        let emoji = "### TASK-2: B\n";
        let after = set_status(emoji, "t.md", "TASK-2", TaskStatus::Done, false).unwrap();
        assert_eq!(after, "### TASK-2: B\n🔴 P0 | ✅ DONE\n");
        // Setting TODO on a task without metadata changes nothing (TODO is the default).
        assert_eq!(
            set_status(text, "t.md", "TASK-2", TaskStatus::Todo, false).unwrap(),
            text
        );
    }

    #[test]
    fn crlf_endings_are_kept() {
        let text = "### TASK-1: A\r\n🔴 P0 | ⬜ TODO\r\n- x\r\n### TASK-2: B\r\nbody\r\n";
        let after = set_status(text, "t.md", "TASK-1", TaskStatus::Done, false).unwrap();
        assert_eq!(
            after,
            "### TASK-1: A\r\n🔴 P0 | ✅ DONE\r\n- x\r\n### TASK-2: B\r\nbody\r\n"
        );
        let after = set_status(text, "t.md", "TASK-2", TaskStatus::Done, false).unwrap();
        assert!(
            after.ends_with("### TASK-2: B\r\n🔴 P0 | ✅ DONE\r\nbody\r\n"),
            "{after:?}"
        );
    }

    #[test]
    fn ticking_the_checklist_touches_only_this_task_s_items() {
        let text = "\
### TASK-1: A
P0 | TODO
**Checklist:**
- [ ] first
- [x] second
- [ ] third
**Depends on:** —
- [ ] not a checklist item

### TASK-2: B
**Checklist:**
- [ ] other task
";
        let after = set_status(text, "t.md", "TASK-1", TaskStatus::Done, true).unwrap();
        let diff = changed(text, &after);
        let lines: Vec<usize> = diff.iter().map(|d| d.0).collect();
        assert_eq!(lines, [2, 4, 6], "{diff:?}");
        assert_eq!(diff[1].2, "- [x] first");
        // Without the option, or for another status, the checklist stays.
        let after = set_status(text, "t.md", "TASK-1", TaskStatus::Done, false).unwrap();
        assert_eq!(changed(text, &after).len(), 1);
        let after = set_status(text, "t.md", "TASK-1", TaskStatus::InProgress, true).unwrap();
        assert_eq!(changed(text, &after).len(), 1);
        // Inserted metadata shifts the checklist lines.
        let bare = "### TASK-3: C\n**Checklist:**\n- [ ] only\n";
        let after = set_status(bare, "t.md", "TASK-3", TaskStatus::Done, true).unwrap();
        assert_eq!(
            after,
            "### TASK-3: C\n🔴 P0 | ✅ DONE\n**Checklist:**\n- [x] only\n"
        );
    }

    #[test]
    fn duplicates_and_broken_metadata_of_the_target_are_refused() {
        let text = "### TASK-1: A\nP0 | TODO\n### TASK-1: again\n### TASK-2: B\nP0 | DOING\n### TASK-3: C\n";
        assert!(matches!(
            set_status(text, "t.md", "TASK-1", TaskStatus::Done, false),
            Err(SourceError::Malformed(d)) if d[0].message.contains("duplicate task id TASK-1")
        ));
        assert!(matches!(
            set_status(text, "t.md", "TASK-2", TaskStatus::Done, false),
            Err(SourceError::Malformed(d)) if d[0].message.contains("unknown status `DOING`")
        ));
        // Problems elsewhere in the file do not stop a well-formed task's write-back.
        let after = set_status(text, "t.md", "TASK-3", TaskStatus::Done, false).unwrap();
        assert!(after.ends_with("### TASK-3: C\nP0 | DONE\n"), "{after}");
    }

    #[test]
    fn the_same_status_again_changes_nothing() {
        let after = set_status(PREFIXES, "t.md", "TASK-10", TaskStatus::Todo, true).unwrap();
        assert_eq!(after, PREFIXES);
    }
}
