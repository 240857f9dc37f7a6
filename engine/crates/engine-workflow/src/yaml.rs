//! Reading a workflow's YAML text, once, into what the loader works on: the document as JSON
//! (what the schema, the resolver and the plugins see), the keys of `stages:` and `finally:`
//! in file order, and the position of every node for diagnostics. What JSON cannot represent
//! (keys that are not strings, tags, non-finite numbers, duplicate keys) and what no workflow
//! needs (text over [`MAX_WORKFLOW_BYTES`], nesting deeper than [`MAX_NESTING`], aliases that
//! copy without end) is refused with located problems.
//!
//! [`MAX_WORKFLOW_BYTES`]: crate::input::MAX_WORKFLOW_BYTES
//! [`MAX_NESTING`]: crate::input::MAX_NESTING

use serde_json::Value as Json;
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::ScanError;

use crate::diagnostic::{Anchor, Problem};
use crate::field_path::FieldPath;
use crate::input;
use crate::spans::{Position, SpanIndex};
use crate::yaml_block_end;
use crate::yaml_reader::{self, Reader};

/// A YAML document read as JSON.
#[derive(Debug, Clone)]
pub(crate) struct ParsedYaml {
    /// The document as JSON.
    pub(crate) json: Json,
    /// The keys of the top-level `stages` mapping in file order (JSON objects are sorted).
    pub(crate) stage_order: Vec<String>,
    /// The keys of the top-level `finally` mapping in file order.
    pub(crate) finally_order: Vec<String>,
    /// The position of every node.
    pub(crate) spans: SpanIndex,
}

/// Why a document could not be read: its problems, and the positions known to locate them.
#[derive(Debug)]
pub(crate) struct Unreadable {
    /// What is wrong.
    pub(crate) problems: Vec<Problem>,
    /// Positions of the nodes read.
    pub(crate) spans: SpanIndex,
}

impl Unreadable {
    fn at_positions(problems: Vec<Problem>) -> Self {
        Unreadable {
            problems,
            spans: SpanIndex::default(),
        }
    }
}

/// Parses `source` in one pass. A syntax error, too deep a nesting or an alias that copies too
/// much is the only problem reported; otherwise every tag, then (when there is none) the first
/// duplicate key or number too large, then every key that is not a string and every
/// non-finite number.
pub(crate) fn parse(source: &str) -> Result<ParsedYaml, Unreadable> {
    if let Some(problem) = input::check_text(source) {
        return Err(Unreadable::at_positions(vec![problem]));
    }
    let mut reader = Reader::default();
    let mut parser = Parser::new_from_str(source);
    loop {
        let (event, marker) = match parser.next_token() {
            Ok(next) => next,
            // The scanner gives up past 255 open `[`/`{` (before any event of them).
            Err(e) if e.info().contains("recursion limit") => {
                let problem = yaml_reader::too_deep(FieldPath::root(), scan_position(&e));
                return Err(Unreadable::at_positions(vec![problem]));
            }
            Err(e) => {
                // Text whose brackets nest absurdly deep is refused as such, not as a syntax
                // error somewhere inside; a duplicate key read before the error comes first.
                let problem = input::raw_bracket_depth(source)
                    .or(reader.fatal.take())
                    .unwrap_or_else(|| syntax_problem(source, &e, reader.innermost_start()));
                return Err(Unreadable {
                    problems: vec![problem],
                    spans: reader.spans,
                });
            }
        };
        if event == Event::StreamEnd {
            break;
        }
        if let Err(problem) = reader.event(event, marker) {
            return Err(Unreadable::at_positions(vec![*problem]));
        }
    }
    let spans = reader.spans;
    if !reader.tags.is_empty() {
        return Err(Unreadable {
            problems: reader.tags,
            spans,
        });
    }
    if let Some(problem) = reader.fatal {
        return Err(Unreadable {
            problems: vec![problem],
            spans,
        });
    }
    let (mut json, problems) = match reader.root {
        Some(root) => (root.json, root.problems),
        // An empty stream (nothing but comments) is a null document.
        None => (Json::Null, Vec::new()),
    };
    if !problems.is_empty() {
        return Err(Unreadable { problems, spans });
    }
    if let Some(block) = &reader.last_block
        && let Some(Json::String(text)) = json.pointer_mut(&block.pointer)
    {
        yaml_block_end::correct(source, block.at, block.key_column, text);
    }
    Ok(ParsedYaml {
        json,
        stage_order: reader.stage_order,
        finally_order: reader.finally_order,
        spans,
    })
}

/// The problem for a syntax error, worded the way YAML tools usually put it ("did not find
/// expected key, while parsing a block mapping") at the parser's position.
fn syntax_problem(source: &str, error: &ScanError, innermost: Option<Position>) -> Problem {
    let (line, mut col) = scan_position(error);
    // A line that is not where its block expects it: point at its start, not at the token
    // after it.
    let misplaced_line = matches!(
        error.info(),
        "while parsing a block mapping, did not find expected key"
            | "while parsing a block collection, did not find expected '-' indicator"
    );
    if misplaced_line && let Some(text) = source.split('\n').nth(line.saturating_sub(1)) {
        let start = text.chars().take_while(|c| c.is_whitespace()).count() + 1;
        col = col.min(start);
    }
    Problem {
        field: FieldPath::root(),
        anchor: Anchor::Position { line, col },
        message: format!(
            "invalid YAML: {}",
            syntax_message(error.info(), innermost.and_then(|at| char_at(source, at)))
        ),
    }
}

/// The parser's message with its context last; inside an unclosed flow list or mapping (the
/// innermost collection opened with `open`), the missing bracket is named.
fn syntax_message(info: &str, open: Option<char>) -> String {
    let info = match info {
        // Worded as other YAML tools do.
        "simple key expect ':'" | "simple key expected" => {
            "while scanning a simple key, could not find expected ':'"
        }
        "while parsing node, found unknown anchor" => {
            "unknown anchor: an alias (`*name`) must come after its anchor (`&name`)"
        }
        "invalid indentation in quoted scalar" => {
            "invalid indentation in quoted scalar: indent the lines that continue it more than \
             its key"
        }
        "invalid indentation" | "invalid indentation in flow construct" => {
            "invalid indentation in a flow collection: indent the lines that continue a [list] or \
             {mapping} more than its key"
        }
        other => other,
    };
    let in_flow_list = info == "illegal placement of ':' indicator"
        || info.starts_with("while parsing a flow sequence,");
    let in_flow_mapping = info == "illegal placement of ':' indicator"
        || info.starts_with("while parsing a flow mapping,");
    match open {
        Some('[') if in_flow_list => {
            return "did not find expected ',' or ']', while parsing a flow sequence".to_string();
        }
        Some('{') if in_flow_mapping => {
            return "did not find expected ',' or '}', while parsing a flow mapping".to_string();
        }
        _ => {}
    }
    match info
        .strip_prefix("while ")
        .and_then(|rest| rest.split_once(", "))
    {
        Some((context, problem)) => format!("{problem}, while {context}"),
        None => info.to_string(),
    }
}

/// The character at a 1-based (line, column) of `source`.
fn char_at(source: &str, (line, col): Position) -> Option<char> {
    source
        .split('\n')
        .nth(line.checked_sub(1)?)?
        .chars()
        .nth(col.checked_sub(1)?)
}

fn scan_position(error: &ScanError) -> Position {
    yaml_reader::position(error.marker())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    fn problems(source: &str) -> Vec<(Anchor, String, String)> {
        match parse(source) {
            Ok(_) => Vec::new(),
            Err(unreadable) => unreadable
                .problems
                .into_iter()
                .map(|p| (p.anchor, p.field.to_string(), p.message))
                .collect(),
        }
    }

    fn messages(source: &str) -> Vec<(Anchor, String)> {
        problems(source)
            .into_iter()
            .map(|(anchor, _, message)| (anchor, message))
            .collect()
    }

    #[test]
    fn converts_and_keeps_stage_order() {
        let parsed =
            parse("name: x\nstages:\n  zeta: {a: 1.5}\n  alpha: {b: [true, null]}\n").unwrap();
        assert_eq!(parsed.stage_order, vec!["zeta", "alpha"]);
        assert_eq!(
            parsed.json,
            serde_json::json!({"name": "x", "stages": {"zeta": {"a": 1.5}, "alpha": {"b": [true, null]}}})
        );
    }

    #[test]
    fn scalars_resolve_by_the_core_schema() {
        let parsed = parse(
            "a: ~\nb: 0x10\nc: '12'\nd: 007\ne: -3\nf: 1e3\ng: yes\nh: |\n  x\ni:\nj: \"true\"\n",
        )
        .unwrap();
        assert_eq!(
            parsed.json,
            serde_json::json!({
                "a": null, "b": 16, "c": "12", "d": "007", "e": -3, "f": 1000.0,
                "g": "yes", "h": "x\n", "i": null, "j": "true"
            })
        );
        assert_eq!(parse("").unwrap().json, Json::Null);
        assert_eq!(parse("# nothing\n").unwrap().json, Json::Null);
    }

    #[test]
    fn stage_order_follows_an_alias() {
        let parsed =
            parse("base: &s {z: 1, a: 2}\nstages: *s\nfinally:\n  y: 1\n  b: 2\n").unwrap();
        assert_eq!(parsed.stage_order, vec!["z", "a"]);
        assert_eq!(parsed.finally_order, vec!["y", "b"]);
    }

    #[test]
    fn syntax_error_has_position_and_context_last() {
        let found = messages("a: [1,\n");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, Anchor::Position { line: 2, col: 1 });
        assert_eq!(
            found[0].1,
            "invalid YAML: did not find expected node content, while parsing a node"
        );
        let found = messages("a:\n  - b\n c: d\n");
        assert_eq!(
            found[0].1,
            "invalid YAML: did not find expected key, while parsing a block mapping"
        );
        // At the start of the line that is out of place.
        assert_eq!(found[0].0, Anchor::Position { line: 3, col: 2 });
        let found = messages("stages:\n  build:\n    uses: builtin:gate\n   needs: [x]\n");
        assert_eq!(found[0].0, Anchor::Position { line: 4, col: 4 });
    }

    #[test]
    fn an_unclosed_flow_list_is_named() {
        let found = messages("a:\n  needs: [x, y\n  b: 1\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, Anchor::Position { line: 3, col: 4 });
        assert_eq!(
            found[0].1,
            "invalid YAML: did not find expected ',' or ']', while parsing a flow sequence"
        );
        assert_eq!(
            syntax_message("illegal placement of ':' indicator", Some('{')),
            "did not find expected ',' or '}', while parsing a flow mapping"
        );
        assert_eq!(
            syntax_message("illegal placement of ':' indicator", None),
            "illegal placement of ':' indicator"
        );
    }

    #[test]
    fn an_alias_before_its_anchor_is_explained() {
        let found = messages("a: *x\nb: &x 1\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, Anchor::Position { line: 1, col: 4 });
        assert_eq!(
            found[0].1,
            "invalid YAML: unknown anchor: an alias (`*name`) must come after its anchor (`&name`)"
        );
    }

    #[test]
    fn under_indented_continuation_lines_are_explained() {
        let found = messages("a:\n  b: \"one\ntwo\"\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, Anchor::Position { line: 2, col: 6 });
        assert!(
            found[0].1.starts_with(
                "invalid YAML: invalid indentation in quoted scalar: indent the lines that \
                 continue it"
            ),
            "{found:?}"
        );
        let found = messages("a:\n  b: [x,\ny]\n");
        assert!(
            found[0]
                .1
                .contains("indent the lines that continue a [list]"),
            "{found:?}"
        );
        assert!(parse("a:\n  b: \"one\n    two\"\n  c: [x,\n    y]\n").is_ok());
    }

    #[test]
    fn duplicate_key_points_at_the_second_key() {
        let found = problems("name: a\nstages:\n  x: {}\n  x: {}\n");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, Anchor::Position { line: 4, col: 3 });
        assert_eq!(found[0].1, "stages");
        assert_eq!(found[0].2, "duplicate entry with key \"x\"");
        let found = problems("a: 1\nb:\n  c: 1\n  c: 2\n");
        assert_eq!(found[0].0, Anchor::Position { line: 4, col: 3 });
        // Found as soon as the second key is read, as serde_yaml did: before its value.
        let found = problems("a: 1\na: {x: 1, x: 2}\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].1, "");
        assert_eq!(found[0].2, "duplicate entry with key \"a\"");
        assert_eq!(problems("a: 1\na: 2\n")[0].1, "");
        assert_eq!(problems("1: a\n1: b\n")[0].2, "duplicate entry with key 1");
        assert_eq!(
            problems("~: a\nnull: b\n")[0].2,
            "duplicate entry with null key"
        );
    }

    #[test]
    fn rejects_non_string_keys_and_nan() {
        let found = messages("1: a\nc: .nan\n[x]: y\n");
        let texts: Vec<&str> = found.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(found.len(), 3, "{texts:?}");
        assert!(texts[0].contains("mapping keys must be strings, found 1"));
        assert_eq!(found[0].0, Anchor::Position { line: 1, col: 1 });
        assert_eq!(
            texts[1],
            ".nan is not a finite number; quote it if you meant a string"
        );
        assert!(texts[2].contains("found a collection"), "{texts:?}");
        assert_eq!(found[2].0, Anchor::Position { line: 3, col: 1 });
        // The value of a key JSON drops is not looked into.
        assert_eq!(messages("1: {a: .inf}\n").len(), 1);
        assert!(
            messages("a: 99999999999999999999\n")[0]
                .1
                .contains("too large a number")
        );
    }

    #[test]
    fn every_tag_is_located_with_its_field() {
        let found = problems("name: x\nstages:\n  a:\n    with: { blob: !!binary aGVsbG8= }\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, Anchor::Position { line: 4, col: 28 });
        assert_eq!(found[0].1, "stages.a.with.blob");
        assert!(found[0].2.contains("found !!binary"), "{found:?}");
        let found = problems("a: !!str 1\nb: [!x 1, 2]\n");
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[1].1, "b[0]");
        let found = messages("stages:\n  a:\n    if: !run.stalled\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0]
                .1
                .starts_with("YAML reads a value starting with '!' as a tag: quote"),
            "{found:?}"
        );
    }

    #[test]
    fn deep_nesting_stops_at_the_limit() {
        let found = messages(&"[".repeat(100_000));
        assert_eq!(found.len(), 1);
        assert!(found[0].1.contains("nested more than 64"), "{found:?}");
        let found = problems(&format!("{}x\n", "- ".repeat(70)));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].1.starts_with("[0][0]"), "{found:?}");
        // A syntax error first: the raw bracket count still refuses the text.
        let found = messages(&format!("a: 'x\n{}", "{".repeat(5000)));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].1.contains("nested more than 64"), "{found:?}");
        let fine = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert!(parse(&fine).is_ok());
    }

    #[test]
    fn aliases_copy_with_positions_and_within_limits() {
        let parsed = parse("a: &x {b: [1, 2]}\nc: *x\n").unwrap();
        assert_eq!(parsed.json["c"], serde_json::json!({"b": [1, 2]}));
        assert_eq!(parsed.spans.locate(&FieldPath::keys(&["c"])), (2, 1));
        assert_eq!(parsed.spans.locate(&FieldPath::keys(&["c", "b"])), (2, 1));
        // Problems inside an anchored node are reported at each alias too.
        let found = problems("a: &x {n: .nan}\nc: *x\n");
        let fields: Vec<&str> = found.iter().map(|(_, f, _)| f.as_str()).collect();
        assert_eq!(fields, ["a.n", "c.n"]);
        // A billion laughs stops at the copy budget.
        let mut laughs = String::from("a0: &a0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n");
        for i in 1..12 {
            let p = i - 1;
            writeln!(
                laughs,
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]"
            )
            .unwrap();
        }
        let found = messages(&laughs);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].1.contains("aliases of this workflow copy more"),
            "{found:?}"
        );
        // Aliases cannot build nesting past the limit either.
        let mut deep = format!("a0: &a0 {}1{}\n", "[".repeat(40), "]".repeat(40));
        deep.push_str("a1: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[*a0]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n");
        assert!(messages(&deep)[0].1.contains("more than 64 levels"));
    }

    #[test]
    fn more_than_one_document_is_refused() {
        let found = messages("a: 1\n---\nb: 2\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, Anchor::Position { line: 2, col: 1 });
        assert!(found[0].1.contains("one YAML document"), "{found:?}");
        assert!(parse("---\na: 1\n...\n").is_ok());
    }

    #[test]
    fn control_characters_are_located() {
        let found = messages("a: 1\nb: x\u{0}y\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, Anchor::Position { line: 2, col: 5 });
        assert_eq!(
            found[0].1,
            "invalid YAML: control characters are not allowed (found U+0000)"
        );
        assert!(parse("a: \"tab\there\"\r\nb: \u{feff}x\n").is_ok());
    }
}
