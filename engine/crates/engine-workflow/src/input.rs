//! Budgets and encoding rules for workflow text, applied before the YAML parser sees it: only
//! regular files are read, at most [`MAX_WORKFLOW_BYTES`]; a UTF-8 byte order mark is skipped;
//! invalid UTF-8 is located by line and column; no node nests deeper than [`MAX_NESTING`]; no
//! YAML tag (`!foo`, `!!binary`, `!!str`) is accepted; at most [`MAX_STAGES`] stages.
//!
//! The structural checks walk the event stream of `yaml-rust2` and stop at the first problem,
//! so a hostile file (`[` nested 100,000 deep) costs no more than its first few thousand bytes.

use std::io::Read;
use std::path::Path;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::Marker;

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

/// Problems with the size, nesting and tags of `source`; empty when the YAML parser may have it.
/// Syntax errors are left to the parser, which words them better.
pub(crate) fn check_structure(source: &str) -> Vec<Problem> {
    if source.len() as u64 > MAX_WORKFLOW_BYTES {
        return vec![Problem::at(
            FieldPath::root(),
            too_large("the workflow", source.len() as u64, MAX_WORKFLOW_BYTES),
        )];
    }
    let mut walk = Walk::default();
    let mut parser = Parser::new_from_str(source);
    loop {
        let (event, marker) = match parser.next_token() {
            Ok(next) => next,
            // The scanner gives up past 255 open `[`/`{` (before any event of them).
            Err(e) if e.info().contains("recursion limit") => {
                return vec![too_deep(FieldPath::root(), scan_position(e.marker()))];
            }
            // Other syntax errors are the YAML parser's to word; but never hand it text whose
            // brackets nest absurdly deep (its scanner is quadratic in that depth).
            Err(_) => return raw_bracket_depth(source).into_iter().collect(),
        };
        match walk.step(event, marker) {
            Step::Go => {}
            Step::End => break,
            Step::Stop(problem) => return vec![*problem],
        }
    }
    walk.problems
}

/// Where the event walk is: one frame per open mapping or list.
#[derive(Default)]
struct Walk {
    frames: Vec<Frame>,
    problems: Vec<Problem>,
}

/// An open collection and where the next node in it goes.
struct Frame {
    path: FieldPath,
    kind: FrameKind,
}

enum FrameKind {
    /// A mapping: the next node is a key when `key` is `None`, else the value of that key.
    Mapping { key: Option<String>, keyed: bool },
    /// A list: the index of the next item.
    List { next: usize },
}

enum Step {
    Go,
    End,
    Stop(Box<Problem>),
}

impl Walk {
    fn step(&mut self, event: Event, marker: Marker) -> Step {
        match &event {
            Event::StreamEnd => Step::End,
            Event::Scalar(_, _, _, tag) => {
                let path = self.place_node(&event_key(&event));
                self.tag(tag.as_ref(), &path, marker);
                Step::Go
            }
            Event::Alias(_) => {
                self.place_node(&None);
                Step::Go
            }
            Event::SequenceStart(_, tag) | Event::MappingStart(_, tag) => {
                let is_list = matches!(event, Event::SequenceStart(..));
                let path = self.place_node(&None);
                self.tag(tag.as_ref(), &path, marker);
                if self.frames.len() + 1 > MAX_NESTING {
                    return Step::Stop(Box::new(too_deep(path, position(marker))));
                }
                let kind = if is_list {
                    FrameKind::List { next: 0 }
                } else {
                    FrameKind::Mapping {
                        key: None,
                        keyed: false,
                    }
                };
                self.frames.push(Frame { path, kind });
                Step::Go
            }
            Event::SequenceEnd | Event::MappingEnd => {
                self.frames.pop();
                Step::Go
            }
            _ => Step::Go,
        }
    }

    /// The path of a node that starts now, moving its parent on. `key_text` is the node's text
    /// when it is a scalar (used when the node is a mapping key).
    fn place_node(&mut self, key_text: &Option<String>) -> FieldPath {
        let Some(frame) = self.frames.last_mut() else {
            return FieldPath::root();
        };
        match &mut frame.kind {
            FrameKind::List { next } => {
                let path = frame.path.index(*next);
                *next += 1;
                path
            }
            FrameKind::Mapping { key, keyed } => {
                if *keyed {
                    // A value: its key was the node before.
                    *keyed = false;
                    match key.take() {
                        Some(name) => frame.path.key(&name),
                        None => frame.path.clone(),
                    }
                } else {
                    *keyed = true;
                    *key = key_text.clone();
                    frame.path.clone()
                }
            }
        }
    }

    fn tag(&mut self, tag: Option<&Tag>, path: &FieldPath, marker: Marker) {
        let Some(tag) = tag else {
            return;
        };
        let handle = match tag.handle.as_str() {
            "tag:yaml.org,2002:" => "!!",
            other => other,
        };
        let written = format!("{handle}{}", tag.suffix);
        let message = if path.to_string().ends_with(".if") || path.to_string() == "if" {
            // `if: !run.stalled` reads as a tag: the condition must be quoted.
            "YAML reads a value starting with '!' as a tag: quote the condition (if: \"!...\")"
                .to_string()
        } else {
            format!(
                "YAML tags are not supported (found {written}); remove the tag, or quote the \
                 value if it is text"
            )
        };
        self.problems.push(Problem {
            field: path.clone(),
            anchor: position(marker),
            message,
        });
    }
}

fn too_deep(field: FieldPath, anchor: Anchor) -> Problem {
    Problem {
        field,
        anchor,
        message: format!(
            "nested more than {MAX_NESTING} levels deep; a workflow never needs that many"
        ),
    }
}

/// Flow brackets open at once, counted over the raw text (quotes and comments included): a
/// problem at the bracket where more than [`RAW_BRACKET_LIMIT`] are open.
fn raw_bracket_depth(source: &str) -> Option<Problem> {
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
            return Some(too_deep(FieldPath::root(), Anchor::Position { line, col }));
        }
    }
    None
}

/// Open brackets the raw count tolerates (far above any real workflow, far below what makes
/// the YAML scanner slow).
const RAW_BRACKET_LIMIT: usize = 1024;

fn scan_position(marker: &Marker) -> Anchor {
    Anchor::Position {
        line: marker.line().max(1),
        col: marker.col() + 1,
    }
}

fn event_key(event: &Event) -> Option<String> {
    match event {
        Event::Scalar(text, ..) => Some(text.clone()),
        _ => None,
    }
}

fn position(marker: Marker) -> Anchor {
    scan_position(&marker)
}

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

    fn found(source: &str) -> Vec<(Anchor, String, String)> {
        check_structure(source)
            .into_iter()
            .map(|p| (p.anchor, p.field.to_string(), p.message))
            .collect()
    }

    #[test]
    fn every_tag_is_located_with_its_field() {
        let problems = found("name: x\nstages:\n  a:\n    with: { blob: !!binary aGVsbG8= }\n");
        assert_eq!(problems.len(), 1, "{problems:?}");
        // At the tagged value.
        assert_eq!(problems[0].0, Anchor::Position { line: 4, col: 28 });
        assert_eq!(problems[0].1, "stages.a.with.blob");
        assert!(problems[0].2.contains("found !!binary"), "{problems:?}");
        let problems = found("a: !!str 1\nb: [!x 1, 2]\n");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[1].1, "b[0]");
    }

    #[test]
    fn deep_nesting_stops_at_the_limit() {
        let source = "[".repeat(100_000);
        let problems = found(&source);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].2.contains("nested more than 64"),
            "{problems:?}"
        );
        let block = format!("{}x\n", "- ".repeat(70));
        let problems = found(&block);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].1.starts_with("[0][0]"), "{problems:?}");
        // A syntax error first: the raw bracket count still refuses the text.
        let problems = found(&format!("a: 'x\n{}", "{".repeat(5000)));
        assert_eq!(problems.len(), 1, "{problems:?}");
        let fine = format!("{}{}", "[".repeat(MAX_NESTING), "]".repeat(MAX_NESTING));
        assert!(found(&fine).is_empty());
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
                assert!(message.contains("a directory"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        #[cfg(unix)]
        match read_text(Path::new("/dev/zero"), 10, "the workflow") {
            Err(ReadFailure::Unreadable(message)) => {
                assert!(message.contains("a device"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }
}
