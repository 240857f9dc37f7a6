//! Ticking one checklist item on the text of a `tasks.md` (`check-item`): pure, so it is
//! tested on strings.
//!
//! Only the mark of that one `- [ ]` line changes (`[ ]` to `[x]` or back); the item's text,
//! the line ending and every other byte of the file stay as they are. An item already in the
//! wanted state leaves the text unchanged.

use engine_source_sdk::SourceError;

use crate::parse;
use crate::writeback::target;

/// Ticks (`done`) or unticks item `index` (1-based) of task `id`'s checklist in `text`.
/// Returns the new text, equal to `text` when the item already was in that state.
pub fn set_item(
    text: &str,
    file: &str,
    id: &str,
    index: u32,
    done: bool,
) -> Result<String, SourceError> {
    let doc = parse::parse(text, file);
    let task = target(&doc, file, id)?;
    let lines = &doc.tasks[task].checklist_lines;
    let count = lines.len();
    let position = usize::try_from(index).unwrap_or(usize::MAX);
    let Some(&line) = position.checked_sub(1).and_then(|i| lines.get(i)) else {
        return Err(SourceError::NotFound(if count == 0 {
            format!("{id} has no checklist")
        } else {
            format!(
                "{id} has {count} checklist item{}; item {index} does not exist (items are \
                 numbered from 1)",
                if count == 1 { "" } else { "s" }
            )
        }));
    };
    let mut raw: Vec<&str> = text.split('\n').collect();
    let Some(current) = raw.get(line).copied() else {
        return Err(SourceError::Failed(format!(
            "{file}: checklist line {} of {id} is past the end of the file",
            line + 1
        )));
    };
    // The parser only takes lines starting `- [` + one ASCII mark + `] ` as items (a BOM can
    // only precede the first line, which is a header or text, never an item).
    let (Some("- ["), Some(head), Some(rest)) =
        (current.get(..3), current.get(3..4), current.get(4..))
    else {
        return Err(SourceError::Failed(format!(
            "{file}:{}: the checklist item of {id} changed shape while it was being ticked",
            line + 1
        )));
    };
    let is_done = matches!(head, "x" | "X");
    if is_done == done {
        return Ok(text.to_string());
    }
    let replaced = format!("- [{}{rest}", if done { "x" } else { " " });
    raw[line] = &replaced;
    Ok(raw.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
### TASK-1: A
P0 | TODO
**Checklist:**
- [ ] first
- [X] second
- [ ] third\r
**Depends on:** —
- [ ] not an item

### TASK-10: B
**Checklist:**
- [ ] other task
";

    #[test]
    fn ticking_changes_only_the_mark_of_that_line() {
        let after = set_item(TEXT, "t.md", "TASK-1", 1, true).unwrap();
        assert_eq!(after, TEXT.replacen("- [ ] first", "- [x] first", 1));
        let after = set_item(TEXT, "t.md", "TASK-1", 3, true).unwrap();
        assert_eq!(after, TEXT.replacen("- [ ] third\r", "- [x] third\r", 1));
        let after = set_item(TEXT, "t.md", "TASK-1", 2, false).unwrap();
        assert_eq!(after, TEXT.replacen("- [X] second", "- [ ] second", 1));
        let after = set_item(TEXT, "t.md", "TASK-10", 1, true).unwrap();
        assert_eq!(
            after,
            TEXT.replacen("- [ ] other task", "- [x] other task", 1)
        );
    }

    #[test]
    fn the_state_it_already_has_changes_nothing() {
        assert_eq!(set_item(TEXT, "t.md", "TASK-1", 2, true).unwrap(), TEXT);
        assert_eq!(set_item(TEXT, "t.md", "TASK-1", 1, false).unwrap(), TEXT);
    }

    #[test]
    fn items_outside_the_checklist_and_unknown_tasks_are_not_found() {
        for index in [0, 4, u32::MAX] {
            let err = set_item(TEXT, "t.md", "TASK-1", index, true).unwrap_err();
            assert_eq!(
                err,
                SourceError::NotFound(format!(
                    "TASK-1 has 3 checklist items; item {index} does not exist (items are \
                     numbered from 1)"
                ))
            );
        }
        let bare = "### TASK-2: C\nP0 | TODO\n";
        assert_eq!(
            set_item(bare, "t.md", "TASK-2", 1, true).unwrap_err(),
            SourceError::NotFound("TASK-2 has no checklist".into())
        );
        assert!(matches!(
            set_item(TEXT, "t.md", "TASK-100", 1, true),
            Err(SourceError::NotFound(_))
        ));
    }
}
