//! Reading spec-runner's `requirements.md` and `design.md`: the items they define (a heading
//! whose text starts with an id) and what each item traces to (`**Traces to:**` lines).
//!
//! - An item starts at an ATX heading (`#` to `######`, then a space) whose text starts with
//!   one of its kind's prefixes: `REQ-` or `NFR-` for requirements, `DESIGN-` for design. The
//!   id is the prefix and digits (`REQ-001`); the rest, after an optional `:`, `—` or `-`, is
//!   the title. A prefix followed by anything but digits (`REQ-XXX`, a template placeholder
//!   left in) is an error naming the line.
//! - The item's block runs to the next heading of the same or a higher level (fewer or as
//!   many `#`), so `#### Description` inside `### DESIGN-001` stays in the block.
//! - In a block, every line holding `Traces to:` (bold or not, any case) lists ids: bracketed
//!   (`[REQ-001], [REQ-002]`) or bare and comma-separated (`REQ-001, REQ-002`); `—` or `none`
//!   means none.
//! - Fenced code (```` ``` ```` or `~~~`) is never read for headings or traces; a YAML front
//!   matter (`---` ... `---` at the top) is skipped; a BOM and CRLF line endings are accepted.

use super::SpecError;

/// Which document a file is, and so which ids define its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `requirements.md`: `REQ-` and `NFR-` ids.
    Requirements,
    /// `design.md`: `DESIGN-` ids.
    Design,
}

impl Kind {
    /// The id prefixes that start an item of this kind.
    pub fn prefixes(self) -> &'static [&'static str] {
        match self {
            Kind::Requirements => &["REQ-", "NFR-"],
            Kind::Design => &["DESIGN-"],
        }
    }
}

/// An id named on a `Traces to:` line, and the line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TraceRef {
    /// The id as written (`REQ-001`).
    pub id: String,
    /// 1-based line of the `Traces to:` line.
    pub line: u32,
}

/// A requirement or design item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Item {
    /// The id (`REQ-001`, `DESIGN-002`).
    pub id: String,
    /// The heading's text after the id (may be empty).
    pub title: String,
    /// 1-based line of the heading.
    pub line: u32,
    /// What its block's `Traces to:` lines name, in order.
    pub traces: Vec<TraceRef>,
}

/// The items of a document of `kind`, in file order (duplicates included: the audit reports
/// them). `shown` names the file in errors.
pub fn parse(text: &str, shown: &str, kind: Kind) -> Result<Vec<Item>, SpecError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut items = Vec::new();
    // The open item and its heading level.
    let mut open: Option<(Item, usize)> = None;
    let mut fence: Option<char> = None;
    for (i, line) in lines.iter().enumerate().skip(front_matter_end(&lines)) {
        let number = line_number(i);
        if let Some(marker) = fence {
            if is_fence(line) == Some(marker) {
                fence = None;
            }
            continue;
        }
        if let Some(marker) = is_fence(line) {
            fence = Some(marker);
            continue;
        }
        if let Some((level, heading)) = heading(line) {
            if open
                .as_ref()
                .is_some_and(|(_, open_level)| level <= *open_level)
            {
                items.extend(open.take().map(|(item, _)| item));
            }
            if let Some((id, title)) = item_heading(heading, kind, shown, number)? {
                items.extend(open.take().map(|(item, _)| item));
                let item = Item {
                    id,
                    title,
                    line: number,
                    traces: Vec::new(),
                };
                open = Some((item, level));
            }
            continue;
        }
        if let (Some((item, _)), Some(value)) = (open.as_mut(), traces_value(line)) {
            item.traces.extend(
                trace_ids(value)
                    .into_iter()
                    .map(|id| TraceRef { id, line: number }),
            );
        }
    }
    items.extend(open.map(|(item, _)| item));
    Ok(items)
}

fn line_number(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

/// The first line after a YAML front matter (`---` on the first line up to the next `---`).
fn front_matter_end(lines: &[&str]) -> usize {
    if lines.first().map(|l| l.trim_end()) != Some("---") {
        return 0;
    }
    lines
        .iter()
        .skip(1)
        .position(|l| l.trim_end() == "---")
        .map_or(0, |end| end + 2)
}

/// The fence character when `line` opens or closes fenced code (three or more backticks or
/// tildes, indented by at most three spaces).
fn is_fence(line: &str) -> Option<char> {
    let trimmed = line.trim_start_matches(' ');
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    ['`', '~']
        .into_iter()
        .find(|c| trimmed.chars().take_while(|x| x == c).count() >= 3)
}

/// `Some((level, text))` for an ATX heading (`#` to `######` then a space or nothing).
fn heading(line: &str) -> Option<(usize, &str)> {
    let level = line.bytes().take_while(|b| *b == b'#').count();
    let rest = &line[level..];
    ((1..=6).contains(&level) && (rest.is_empty() || rest.starts_with(' ')))
        .then(|| (level, rest.trim()))
}

/// The id and title when `heading` starts with an id of `kind`; an error when it starts with
/// a prefix not followed by digits.
fn item_heading(
    heading: &str,
    kind: Kind,
    shown: &str,
    line: u32,
) -> Result<Option<(String, String)>, SpecError> {
    let Some(prefix) = kind.prefixes().iter().find(|p| heading.starts_with(**p)) else {
        return Ok(None);
    };
    let rest = &heading[prefix.len()..];
    let token: String = rest
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_digit()) {
        let written: String = heading.split_whitespace().next().unwrap_or(heading).into();
        return Err(SpecError::Malformed {
            file: shown.to_string(),
            line,
            message: format!(
                "heading `{}` starts with {prefix} but `{}` is not an id: write {prefix} then \
                 digits, e.g. `{prefix}001: title`",
                crate::terminal::safe(heading),
                crate::terminal::safe(written.trim_end_matches(':'))
            ),
        });
    }
    let title = rest[token.len()..]
        .trim_start()
        .trim_start_matches([':', '—', '–', '-'])
        .trim();
    Ok(Some((format!("{prefix}{token}"), title.to_string())))
}

/// What follows `Traces to:` on `line` (the colon inside or outside the bold), if the line
/// has it.
fn traces_value(line: &str) -> Option<&str> {
    let lower = line.to_ascii_lowercase();
    let at = lower.find("traces to")?;
    let rest = &line[at + "traces to".len()..];
    let rest = rest.trim_start_matches('*').trim_start();
    let rest = rest.strip_prefix(':')?;
    Some(rest.trim_start_matches('*').trim())
}

/// The ids of a `Traces to:` value: bracketed (`[REQ-001], [DESIGN-001]`), or bare and
/// separated by commas or spaces; none for `—`, `-`, `none` or nothing.
pub fn trace_ids(value: &str) -> Vec<String> {
    let value = value.trim();
    if value.is_empty() || matches!(value, "—" | "–" | "-") || value.eq_ignore_ascii_case("none")
    {
        return Vec::new();
    }
    let bracketed: Vec<String> = value
        .split('[')
        .skip(1)
        .filter_map(|part| part.split_once(']').map(|(inside, _)| inside.trim()))
        .filter(|inside| !inside.is_empty())
        .map(str::to_string)
        .collect();
    if !bracketed.is_empty() {
        return bracketed;
    }
    value
        .split([',', ' ', '\t'])
        .map(|t| t.trim().trim_end_matches('.'))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(items: &[Item]) -> Vec<(&str, &str, u32)> {
        items
            .iter()
            .map(|i| (i.id.as_str(), i.title.as_str(), i.line))
            .collect()
    }

    #[test]
    fn reads_requirements_at_any_depth_with_their_lines() {
        let text = "---\nspec_stage: requirements\n---\n# Requirements\n\n## 2. Functional\n\
                    #### REQ-001: Login\nbody\n#### REQ-002 — Logout\n### NFR-001: Speed\n";
        let items = parse(text, "spec/requirements.md", Kind::Requirements).unwrap();
        assert_eq!(
            ids(&items),
            [
                ("REQ-001", "Login", 7),
                ("REQ-002", "Logout", 9),
                ("NFR-001", "Speed", 10)
            ]
        );
    }

    #[test]
    fn a_design_block_keeps_its_subheadings_and_reads_every_traces_line() {
        let text = "## 2. Components\n### DESIGN-001: Store\n#### Interface\n\
                    **Traces to:** [REQ-001], [REQ-002]\n#### Config\nTraces to: REQ-003\n\
                    ### DESIGN-002: Cache\n**Traces to**: —\n## 3. Data\n**Traces to:** [REQ-9]\n";
        let items = parse(text, "spec/design.md", Kind::Design).unwrap();
        assert_eq!(
            ids(&items),
            [("DESIGN-001", "Store", 2), ("DESIGN-002", "Cache", 7)]
        );
        let traces: Vec<(&str, u32)> = items[0]
            .traces
            .iter()
            .map(|t| (t.id.as_str(), t.line))
            .collect();
        assert_eq!(traces, [("REQ-001", 4), ("REQ-002", 4), ("REQ-003", 6)]);
        // `—` is none, and a Traces line after the block ended (## 3.) belongs to no item.
        assert!(items[1].traces.is_empty());
    }

    #[test]
    fn fenced_code_is_neither_headings_nor_traces() {
        let text = "#### REQ-001: A\n```gherkin\n# REQ-002: not a heading\nTraces to: REQ-9\n\
                    ```\n**Traces to:** REQ-5\n~~~\n# x\n~~~\n#### REQ-003: B\n";
        let items = parse(text, "r.md", Kind::Requirements).unwrap();
        assert_eq!(ids(&items), [("REQ-001", "A", 1), ("REQ-003", "B", 10)]);
        assert_eq!(items[0].traces.len(), 1);
        assert_eq!(items[0].traces[0].id, "REQ-5");
        assert_eq!(items[0].traces[0].line, 6);
    }

    #[test]
    fn a_placeholder_id_is_an_error_naming_file_and_line() {
        let text = "# R\r\n\r\n#### REQ-XXX: {{NAME}}\r\n";
        let err = parse(text, "spec/requirements.md", Kind::Requirements).unwrap_err();
        let shown = err.to_string();
        assert!(shown.starts_with("spec/requirements.md:3: "), "{shown}");
        assert!(shown.contains("`REQ-XXX` is not an id"), "{shown}");
        let err = parse("## DESIGN-: x\n", "d.md", Kind::Design).unwrap_err();
        assert!(err.to_string().starts_with("d.md:1: "), "{err}");
    }

    #[test]
    fn other_headings_and_kinds_are_not_items() {
        let text = "\u{feff}### DESIGN-001: in requirements\n#REQ-001 no space\n### Requirement\n";
        assert!(parse(text, "r.md", Kind::Requirements).unwrap().is_empty());
    }

    #[test]
    fn trace_values_with_and_without_brackets() {
        assert_eq!(
            trace_ids("[REQ-001], [DESIGN-001]"),
            ["REQ-001", "DESIGN-001"]
        );
        assert_eq!(trace_ids("REQ-001, REQ-002"), ["REQ-001", "REQ-002"]);
        assert_eq!(trace_ids("REQ-001 REQ-002."), ["REQ-001", "REQ-002"]);
        assert!(trace_ids("—").is_empty());
        assert!(trace_ids(" none ").is_empty());
        assert!(trace_ids("").is_empty());
    }

    #[test]
    fn traces_lines_in_their_usual_spellings() {
        assert_eq!(traces_value("**Traces to:** [REQ-1]"), Some("[REQ-1]"));
        assert_eq!(traces_value("**Traces to**: REQ-1"), Some("REQ-1"));
        assert_eq!(traces_value("traces to: REQ-1"), Some("REQ-1"));
        assert_eq!(traces_value("It traces to nothing"), None);
    }
}
