//! Budgets and encoding rules for workflow text, applied before the YAML parser sees it: only
//! regular files are read, at most [`MAX_WORKFLOW_BYTES`]; a UTF-8 byte order mark is skipped;
//! invalid UTF-8 is located by line and column; no node nests deeper than [`MAX_NESTING`]; no
//! YAML tag (`!foo`, `!!binary`, `!!str`) is accepted; at most [`MAX_STAGES`] stages.
//!
//! The nesting and tag checks are made while the YAML is read (`yaml.rs`), which stops at the
//! first nesting problem, so a hostile file (`[` nested 100,000 deep) costs no more than its
//! first few thousand bytes.

use std::io::Read;
use std::path::Path;

use crate::diagnostic::{Anchor, Problem};
use crate::field_path::FieldPath;

/// The largest workflow file engine reads, in bytes (4 MiB: a workflow of 20,000 stages fits).
pub const MAX_WORKFLOW_BYTES: u64 = 4 << 20;

/// The deepest nesting of mappings and lists a workflow may have (the document is level 1).
pub const MAX_NESTING: usize = 64;

/// The most stages a workflow may have, in `stages:` and in `finally:` together.
pub const MAX_STAGES: usize = 25_000;

/// The UTF-8 byte order mark some editors write at the start of a file.
const BOM: char = '\u{feff}';

/// Why a workflow file could not be read: a message for a diagnostic at line 0, column 0, or a
/// located problem (invalid UTF-8).
#[derive(Debug)]
pub(crate) enum ReadFailure {
    /// The file is missing, not a regular file, too large or unreadable.
    Unreadable(String),
    /// The file is not UTF-8: the first bad byte's 1-based line and column.
    NotUtf8 {
        /// 1-based line of the first invalid byte.
        line: usize,
        /// 1-based column (in characters) of the first invalid byte.
        col: usize,
    },
}

/// Reads the workflow file at `path`: only a regular file (a FIFO, a device such as
/// `/dev/zero` or a directory is refused before it is opened), at most `limit` bytes, UTF-8.
pub(crate) fn read_text(path: &Path, limit: u64, what: &str) -> Result<String, ReadFailure> {
    let unreadable =
        |e: std::io::Error| ReadFailure::Unreadable(format!("cannot read {what}: {e}"));
    let metadata = std::fs::metadata(path).map_err(unreadable)?;
    if !metadata.is_file() {
        return Err(ReadFailure::Unreadable(format!(
            "{what} must be a regular file (this is {})",
            kind_of(&metadata)
        )));
    }
    if metadata.len() > limit {
        return Err(ReadFailure::Unreadable(too_large(
            what,
            metadata.len(),
            limit,
        )));
    }
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut bytes = Vec::new();
    // The file may grow between the check and the read: never read past the limit.
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > limit {
        return Err(ReadFailure::Unreadable(too_large(
            what,
            bytes.len() as u64,
            limit,
        )));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let (line, col) = position_after(valid);
            Err(ReadFailure::NotUtf8 { line, col })
        }
    }
}

/// What kind of file `metadata` describes, for messages.
fn kind_of(metadata: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let kind = metadata.file_type();
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if metadata.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

fn too_large(what: &str, size: u64, limit: u64) -> String {
    format!("{what} is {size} bytes or more; the limit is {limit} bytes")
}

/// The 1-based (line, column) just after `valid` (valid UTF-8 up to the first bad byte).
fn position_after(valid: &[u8]) -> (usize, usize) {
    let text = String::from_utf8_lossy(valid);
    let line = text.matches('\n').count() + 1;
    let last_line = text.rsplit('\n').next().unwrap_or_default();
    (line, last_line.chars().count() + 1)
}

/// `source` without a leading byte order mark.
pub(crate) fn strip_bom(source: &str) -> &str {
    source.strip_prefix(BOM).unwrap_or(source)
}

/// A problem with the text itself, before it is parsed: larger than [`MAX_WORKFLOW_BYTES`], or
/// holding a control character YAML does not allow (anything but tab, line feed and carriage
/// return below U+0020, DEL, the C1 controls but U+0085, U+FFFE and U+FFFF), located.
pub(crate) fn check_text(source: &str) -> Option<Problem> {
    if source.len() as u64 > MAX_WORKFLOW_BYTES {
        return Some(Problem::at(
            FieldPath::root(),
            too_large("the workflow", source.len() as u64, MAX_WORKFLOW_BYTES),
        ));
    }
    let (mut line, mut col) = (1usize, 0usize);
    for c in source.chars() {
        col += 1;
        if c == '\n' {
            (line, col) = (line + 1, 0);
        } else if !allowed_in_yaml(c) {
            return Some(Problem {
                field: FieldPath::root(),
                anchor: Anchor::Position { line, col },
                message: format!(
                    "invalid YAML: control characters are not allowed (found U+{:04X})",
                    u32::from(c)
                ),
            });
        }
    }
    None
}

/// Whether YAML allows `c` in a stream (its printable set).
fn allowed_in_yaml(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{85}' | '\u{a0}'..='\u{d7ff}'
        | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// Flow brackets open at once, counted over the raw text (quotes and comments included): a
/// problem at the bracket where more than [`RAW_BRACKET_LIMIT`] are open.
pub(crate) fn raw_bracket_depth(source: &str) -> Option<Problem> {
    let (mut depth, mut line, mut col) = (0usize, 1usize, 0usize);
    for c in source.chars() {
        col += 1;
        match c {
            '\n' => (line, col) = (line + 1, 0),
            '[' | '{' => depth += 1,
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > RAW_BRACKET_LIMIT {
            return Some(crate::yaml_reader::too_deep(FieldPath::root(), (line, col)));
        }
    }
    None
}

/// Open brackets the raw count tolerates (far above any real workflow, far below what makes
/// the YAML scanner slow).
const RAW_BRACKET_LIMIT: usize = 1024;

/// A problem when the document has more stages than [`MAX_STAGES`].
pub(crate) fn check_stage_count(document: &serde_json::Value) -> Option<Problem> {
    let count = |name: &str| {
        document
            .get(name)
            .and_then(serde_json::Value::as_object)
            .map_or(0, serde_json::Map::len)
    };
    let total = count("stages") + count("finally");
    (total > MAX_STAGES).then(|| {
        Problem::at(
            FieldPath::keys(&["stages"]),
            format!("the workflow has {total} stages; the limit is {MAX_STAGES}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_text_is_refused_before_parsing() {
        let text = "#".repeat(usize::try_from(MAX_WORKFLOW_BYTES).unwrap() + 1);
        let problem = check_text(&text).unwrap();
        assert!(
            problem.message.contains("the limit is 4194304 bytes"),
            "{problem:?}"
        );
        assert_eq!(check_text("a: \"\u{85}\u{feff}\"\n"), None);
        let problem = check_text("a: 1\n\u{7f}").unwrap();
        assert_eq!(problem.anchor, Anchor::Position { line: 2, col: 1 });
    }

    #[test]
    fn bom_is_stripped_and_bad_utf8_located() {
        assert_eq!(strip_bom("\u{feff}name: x"), "name: x");
        assert_eq!(position_after(b"a: 1\nbc: \xc3\xa9"), (2, 6));
    }

    #[test]
    fn non_regular_files_are_refused_before_opening() {
        let dir = std::env::temp_dir();
        match read_text(&dir, 10, "the workflow") {
            Err(ReadFailure::Unreadable(message)) => {
                assert!(message.contains("a directory"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        #[cfg(unix)]
        match read_text(Path::new("/dev/zero"), 10, "the workflow") {
            Err(ReadFailure::Unreadable(message)) => {
                assert!(message.contains("a device"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}
