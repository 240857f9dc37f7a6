//! The ids a requirements or design document defines (`#### REQ-001: Title` headings, any
//! level; `NFR-` counts as a requirement) and the ids its `Traces to:` lines name, read the way
//! `engine spec` reads them: fenced code is skipped.

/// What a document defines and references.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecIds {
    /// Ids defined by headings, in order, with their 1-based line.
    pub defined: Vec<(String, usize)>,
    /// Ids named on `Traces to:` lines, with their line.
    pub traces: Vec<(String, usize)>,
}

/// The id prefixes of requirements.
pub const REQUIREMENT_PREFIXES: &[&str] = &["REQ-", "NFR-"];
/// The id prefixes of design items.
pub const DESIGN_PREFIXES: &[&str] = &["DESIGN-"];

/// Reads `text`, whose items carry one of `prefixes`.
pub fn read(text: &str, prefixes: &[&str]) -> SpecIds {
    let mut ids = SpecIds::default();
    let mut fence: Option<(char, usize)> = None;
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        let t = line.trim();
        let marker = t.chars().next().filter(|c| *c == '`' || *c == '~');
        if let Some(c) = marker {
            let run = t.chars().take_while(|x| *x == c).count();
            if run >= 3 {
                match fence {
                    None => fence = Some((c, run)),
                    Some((open, len)) if open == c && run >= len && t.len() == run => {
                        fence = None;
                    }
                    Some(_) => {}
                }
                continue;
            }
        }
        if fence.is_some() {
            continue;
        }
        let hashes = t.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&hashes) && t[hashes..].starts_with(' ') {
            let rest = t[hashes..].trim_start();
            if let Some(id) = leading_id(rest, prefixes) {
                ids.defined.push((id, line_no));
            }
            continue;
        }
        let plain = t.replace(['*', '_'], "");
        if let Some(value) = plain.strip_prefix("Traces to:").or_else(|| {
            plain
                .strip_prefix("Traces to")
                .and_then(|r| r.trim_start().strip_prefix(':'))
        }) {
            for id in scan_ids(value) {
                ids.traces.push((id, line_no));
            }
        }
    }
    ids
}

/// The id at the start of a heading's text (`REQ-001: Login` → `REQ-001`), if it has one of
/// `prefixes` followed by digits and then the end, a space, `:` or a dash.
fn leading_id(text: &str, prefixes: &[&str]) -> Option<String> {
    let prefix = prefixes.iter().find(|p| text.starts_with(**p))?;
    let digits = text[prefix.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .count();
    if digits == 0 {
        return None;
    }
    let end = prefix.len() + digits;
    let next = text[end..].chars().next();
    if next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    Some(text[..end].to_string())
}

/// Every `PREFIX-digits` word in `text` (`[REQ-001], DESIGN-2`).
pub fn scan_ids(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')) {
        let Some((prefix, digits)) = word.rsplit_once('-') else {
            continue;
        };
        let well_formed = !prefix.is_empty()
            && prefix
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && prefix.starts_with(|c: char| c.is_ascii_uppercase())
            && !digits.is_empty()
            && digits.chars().all(|c| c.is_ascii_digit());
        if well_formed && !found.iter().any(|f| f == word) {
            found.push(word.to_string());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_define_ids_and_traces_lines_name_them_outside_fences() {
        let text = "# Requirements\n\n#### REQ-001: Login\nbody\n### NFR-002 — Speed\n\
                    ## REQ-XXX: placeholder\n```\n#### REQ-009: in a fence\n```\n\
                    **Traces to:** [REQ-001], DESIGN-4\n";
        let ids = read(text, REQUIREMENT_PREFIXES);
        assert_eq!(
            ids.defined,
            [("REQ-001".to_string(), 3), ("NFR-002".to_string(), 5)]
        );
        assert_eq!(
            ids.traces,
            [("REQ-001".to_string(), 10), ("DESIGN-4".to_string(), 10)]
        );
        assert_eq!(
            read("### DESIGN-1: Cache\n", DESIGN_PREFIXES).defined.len(),
            1
        );
        assert!(
            read("### DESIGN-1a: x\n", DESIGN_PREFIXES)
                .defined
                .is_empty()
        );
    }
}
