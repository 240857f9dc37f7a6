//! Finding the pins in a workflow's text: for each stage of `stages:` and `finally:` (and for
//! `tasks:`), where its `uses:` (`source:`) value and its `sha256:` value are, and where a
//! missing `sha256:` goes — the line after `uses:` with its indentation in a block mapping,
//! after the `uses:` value in a flow mapping. Only positions are found here; the loader
//! reads the rewritten text back and must agree (see `pin.rs`), so a form this reader
//! misjudges is refused, never written.

use super::flow::{self, FlowEntry, FlowValue};
use super::scalar::{Context, Value, value_at};

/// Whose pin a site is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Owner {
    /// A stage of `stages:` or `finally:`.
    Stage {
        /// `stages` or `finally`.
        section: &'static str,
        /// The stage id.
        id: String,
    },
    /// The `tasks:` section's source.
    TaskSource,
}

/// A value with the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Found {
    /// The value.
    pub(super) value: Value,
    /// Its line.
    pub(super) line: usize,
}

/// Where a missing `sha256:` is inserted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Insert {
    /// A line of its own at `at` (the start of the line after `uses:`), indented like `uses:`;
    /// `eol` ends it, or starts it when the file has no line break at its end.
    Line {
        /// Byte offset.
        at: usize,
        /// The indentation (the `uses:` line's).
        indent: String,
        /// The line break of the `uses:` line (or the file's).
        eol: String,
        /// The `uses:` line is the last and has no line break.
        leading: bool,
    },
    /// `, sha256: HEX` at `at`, just after the `uses:` value of a flow mapping.
    Flow {
        /// Byte offset.
        at: usize,
    },
}

/// One stage (or the task source) and its pin's place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Site {
    /// Whose it is.
    pub(super) owner: Owner,
    /// The 1-based line of the stage's key (or of `tasks:`).
    pub(super) line: usize,
    /// The `uses:` (`source:`) value.
    pub(super) uses: Option<Found>,
    /// The `sha256:` value.
    pub(super) pin: Option<Found>,
    /// Where a `sha256:` goes when there is none.
    pub(super) insert: Option<Insert>,
}

/// One line of the text.
#[derive(Debug, Clone, Copy)]
struct Line {
    start: usize,
    /// End of the content (before the line break).
    end: usize,
    /// Start of the next line.
    next: usize,
    indent: usize,
    /// Not blank and not only a comment.
    content: bool,
}

/// A key of a block mapping.
#[derive(Debug, Clone)]
struct Key {
    text: String,
    /// Index of its line.
    line: usize,
    /// Byte offset just after its colon.
    colon_end: usize,
}

/// Every stage with its `uses:`/`sha256:` places, then the task source, as written.
pub(super) fn sites(text: &str) -> Vec<Site> {
    let lines = split_lines(text);
    let mut sites = Vec::new();
    let Some(top) = lines.iter().find(|l| l.content).map(|l| l.indent) else {
        return sites;
    };
    let roots = block_keys(text, &lines, 0, top);
    for key in roots {
        match key.text.as_str() {
            "stages" => stage_sites(text, &lines, &key, "stages", &mut sites),
            "finally" => stage_sites(text, &lines, &key, "finally", &mut sites),
            "tasks" => {
                if let Some(site) = mapping_site(text, &lines, &key, Owner::TaskSource, "source") {
                    sites.push(site);
                }
            }
            _ => {}
        }
    }
    sites
}

/// The sites of the stages of section `key`.
fn stage_sites(
    text: &str,
    lines: &[Line],
    key: &Key,
    section: &'static str,
    sites: &mut Vec<Site>,
) {
    match after_anchor(text, key.colon_end, lines[key.line].end) {
        Start::Flow(open) => {
            let Some((entries, _)) = flow::mapping(text, open) else {
                return;
            };
            for entry in entries {
                if let FlowValue::Map(inner) = &entry.value {
                    let owner = Owner::Stage {
                        section,
                        id: entry.key.clone(),
                    };
                    let line = line_of(lines, entry.key_at);
                    sites.push(flow_site(lines, owner, line, inner, "uses"));
                }
            }
        }
        Start::Block => {
            let indent = lines[key.line].indent;
            let Some(first) = first_content(lines, key.line + 1, indent) else {
                return;
            };
            for stage in block_keys(text, lines, first, lines[first].indent) {
                let owner = Owner::Stage {
                    section,
                    id: stage.text.clone(),
                };
                if let Some(site) = mapping_site(text, lines, &stage, owner, "uses") {
                    sites.push(site);
                }
            }
        }
        Start::Other => {}
    }
}

/// The site of the mapping that is the value of `key` (a stage, or `tasks:`), whose component
/// is named by `uses_key`; `None` when its value is not a mapping (an alias, a scalar).
fn mapping_site(
    text: &str,
    lines: &[Line],
    key: &Key,
    owner: Owner,
    uses_key: &str,
) -> Option<Site> {
    let line = key.line + 1;
    match after_anchor(text, key.colon_end, lines[key.line].end) {
        Start::Flow(open) => {
            let (entries, _) = flow::mapping(text, open)?;
            Some(flow_site(lines, owner, line, &entries, uses_key))
        }
        Start::Block => {
            let indent = lines[key.line].indent;
            let first = first_content(lines, key.line + 1, indent)?;
            let mut site = Site {
                owner,
                line,
                uses: None,
                pin: None,
                insert: None,
            };
            for child in block_keys(text, lines, first, lines[first].indent) {
                let value = value_at(text, child.colon_end, child.colon_end, Context::Block);
                let found = Some(Found {
                    value,
                    line: child.line + 1,
                });
                if child.text == uses_key {
                    let own = lines[child.line];
                    let eol = text[own.end..own.next].to_string();
                    let leading = eol.is_empty();
                    site.uses = found;
                    site.insert = Some(Insert::Line {
                        at: own.next,
                        indent: text[own.start..own.start + own.indent].to_string(),
                        eol: if leading { file_eol(text, lines) } else { eol },
                        leading,
                    });
                } else if child.text == "sha256" {
                    site.pin = found;
                }
            }
            Some(site)
        }
        Start::Other => None,
    }
}

/// The site of a flow mapping's entries.
fn flow_site(
    lines: &[Line],
    owner: Owner,
    line: usize,
    entries: &[FlowEntry],
    uses_key: &str,
) -> Site {
    let mut site = Site {
        owner,
        line,
        uses: None,
        pin: None,
        insert: None,
    };
    for entry in entries {
        let FlowValue::Value(value) = &entry.value else {
            continue;
        };
        let found = Some(Found {
            value: value.clone(),
            line: line_of(lines, entry.key_at),
        });
        if entry.key == uses_key {
            if let Value::Scalar(scalar) = value {
                site.insert = Some(Insert::Flow {
                    at: scalar.outer_end,
                });
            }
            site.uses = found;
        } else if entry.key == "sha256" {
            site.pin = found;
        }
    }
    site
}

/// How a mapping value starts after its key's colon.
enum Start {
    /// On the following lines (nothing but maybe an anchor and a comment on the key's line).
    Block,
    /// A flow mapping whose `{` is at this offset.
    Flow(usize),
    /// Something else (an alias, a scalar, a list).
    Other,
}

/// What follows a key's colon on its line, an anchor (`&name`) skipped.
fn after_anchor(text: &str, colon_end: usize, line_end: usize) -> Start {
    let rest = &text[colon_end..line_end];
    let mut offset = colon_end + (rest.len() - rest.trim_start().len());
    let mut rest = rest.trim_start();
    if let Some(anchored) = rest.strip_prefix('&') {
        let name_len = anchored.find([' ', '\t']).unwrap_or(anchored.len());
        let after = &anchored[name_len..];
        offset += 1 + name_len + (after.len() - after.trim_start().len());
        rest = after.trim_start();
    }
    if rest.is_empty() || rest.starts_with('#') {
        Start::Block
    } else if rest.starts_with('{') {
        Start::Flow(offset)
    } else {
        Start::Other
    }
}

/// The keys of the block mapping whose first line is `first` and whose keys are indented by
/// `indent`: every line at that indentation that is a `key:`, until a line indented less.
fn block_keys(text: &str, lines: &[Line], first: usize, indent: usize) -> Vec<Key> {
    let mut keys = Vec::new();
    for (index, line) in lines.iter().enumerate().skip(first) {
        if !line.content {
            continue;
        }
        if line.indent < indent {
            break;
        }
        if line.indent > indent {
            continue;
        }
        if let Some((key, colon_end)) = key_of(text, line) {
            keys.push(Key {
                text: key,
                line: index,
                colon_end,
            });
        }
    }
    keys
}

/// The first line with content after `from` when it is indented more than `parent`.
fn first_content(lines: &[Line], from: usize, parent: usize) -> Option<usize> {
    let index = (from..lines.len()).find(|&i| lines[i].content)?;
    (lines[index].indent > parent).then_some(index)
}

/// The key of a `key: value` line and the offset just after its colon.
fn key_of(text: &str, line: &Line) -> Option<(String, usize)> {
    let start = line.start + line.indent;
    let content = &text[start..line.end];
    if content.starts_with("- ") || content == "-" || content.starts_with('?') {
        return None;
    }
    let (key, after) = match content.as_bytes().first()? {
        b'"' | b'\'' => {
            let Value::Scalar(scalar) = value_at(text, start, start, Context::Flow) else {
                return None;
            };
            (scalar.text, scalar.outer_end)
        }
        _ => {
            let colon = content
                .match_indices(':')
                .map(|(i, _)| i)
                .find(|&i| matches!(content.as_bytes().get(i + 1), None | Some(b' ' | b'\t')))?;
            (content[..colon].trim_end().to_string(), start + colon)
        }
    };
    let rest = &text[after..line.end];
    let spaces = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    let colon = after + spaces;
    (text.as_bytes().get(colon) == Some(&b':')).then_some((key, colon + 1))
}

/// The lines of `text`.
fn split_lines(text: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let next = text[start..]
            .find('\n')
            .map_or(text.len(), |i| start + i + 1);
        let mut end = next;
        if text[start..end].ends_with('\n') {
            end -= 1;
        }
        if text[start..end].ends_with('\r') {
            end -= 1;
        }
        let body = &text[start..end];
        let indent = body.len() - body.trim_start_matches(' ').len();
        let rest = body[indent..].trim_start();
        lines.push(Line {
            start,
            end,
            next,
            indent,
            content: !rest.is_empty() && !rest.starts_with('#'),
        });
        start = next;
    }
    lines
}

/// The 1-based line of byte offset `at`.
fn line_of(lines: &[Line], at: usize) -> usize {
    lines.partition_point(|l| l.start <= at).max(1)
}

/// The line break the file uses (its first), `\n` when it has none.
fn file_eol(text: &str, lines: &[Line]) -> String {
    lines
        .iter()
        .map(|l| &text[l.end..l.next])
        .find(|eol| !eol.is_empty())
        .unwrap_or("\n")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(text: &str, found: Option<&Found>) -> String {
        match found.map(|f| &f.value) {
            Some(Value::Scalar(s)) => text[s.start..s.end].to_string(),
            other => format!("{other:?}"),
        }
    }

    fn ids(sites: &[Site]) -> Vec<String> {
        sites
            .iter()
            .map(|s| match &s.owner {
                Owner::Stage { section, id } => format!("{section}.{id}"),
                Owner::TaskSource => "tasks".to_string(),
            })
            .collect()
    }

    const WORKFLOW: &str = "# a workflow\nname: x\ndescription: |\n  stages:\n    fake:\n      uses: no.wasm\nstages:\n  # the first\n  hello:   # comment\n    uses: ./a.wasm   # the plugin\n    sha256: \"abc\"\n    with:\n      uses: nested.wasm\n  flow: &f { uses: 'b.wasm', with: { x: 1 } }\n  alias: *f\n  gate:\n    uses: builtin:gate\nfinally:\n  last:\n      uses: c.wasm\ntasks: { source: t.wasm, sha256: 00 }\n";

    #[test]
    fn stages_finally_and_tasks_are_found_where_they_are() {
        let sites = sites(WORKFLOW);
        assert_eq!(
            ids(&sites),
            [
                "stages.hello",
                "stages.flow",
                "stages.gate",
                "finally.last",
                "tasks"
            ]
        );
        let hello = &sites[0];
        assert_eq!(hello.line, 9);
        assert_eq!(text_of(WORKFLOW, hello.uses.as_ref()), "./a.wasm");
        assert_eq!(text_of(WORKFLOW, hello.pin.as_ref()), "abc");
        assert_eq!(hello.pin.as_ref().map(|p| p.line), Some(11));
        let flow = &sites[1];
        assert_eq!(text_of(WORKFLOW, flow.uses.as_ref()), "b.wasm");
        assert!(flow.pin.is_none());
        let Some(Insert::Flow { at }) = flow.insert else {
            panic!("{flow:?}");
        };
        assert_eq!(&WORKFLOW[at..at + 2], ", ");
        let last = &sites[3];
        let Some(Insert::Line { indent, eol, .. }) = &last.insert else {
            panic!("{last:?}");
        };
        assert_eq!((indent.as_str(), eol.as_str()), ("      ", "\n"));
        assert_eq!(text_of(WORKFLOW, sites[4].pin.as_ref()), "00");
    }

    #[test]
    fn crlf_lines_and_a_last_line_without_a_break_are_handled() {
        let text = "name: x\r\nstages:\r\n  a:\r\n    uses: a.wasm";
        let sites = sites(text);
        let Some(Insert::Line {
            at, eol, leading, ..
        }) = &sites[0].insert
        else {
            panic!("{sites:?}");
        };
        assert_eq!((*at, eol.as_str(), *leading), (text.len(), "\r\n", true));
        assert_eq!(text_of(text, sites[0].uses.as_ref()), "a.wasm");
    }

    #[test]
    fn empty_pins_and_quoted_keys_are_found() {
        let text = "stages:\n  \"a\":\n    'uses' : a.wasm\n    sha256:   # todo\n";
        let sites = sites(text);
        assert_eq!(ids(&sites), ["stages.a"]);
        assert!(matches!(
            sites[0].pin.as_ref().map(|p| &p.value),
            Some(Value::Empty { .. })
        ));
        assert_eq!(text_of(text, sites[0].uses.as_ref()), "a.wasm");
    }
}
