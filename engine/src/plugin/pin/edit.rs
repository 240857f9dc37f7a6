//! The edits that set pins: a value replaced inside its quotes, a value put after an empty
//! `sha256:`, a `sha256:` line inserted after `uses:`, or `, sha256: ...` after a flow
//! mapping's `uses:` value; and the text with them made.

use super::PinError;
use super::locate::{Found, Insert, Site};
use super::scalar::Value;

/// An edit of the text: `start..end` becomes `text`, in which the pin starts at `pin_at`.
#[derive(Debug, Clone)]
pub(super) struct Edit {
    start: usize,
    end: usize,
    text: String,
    pin_at: usize,
}

/// The edit that sets the site's pin to `sha`.
pub(super) fn edit_for(site: &Site, sha: &str, file: &str) -> Result<Edit, PinError> {
    let (start, end, text) = match (&site.pin, &site.insert) {
        (
            Some(Found {
                value: Value::Scalar(scalar),
                ..
            }),
            _,
        ) => (scalar.start, scalar.end, sha.to_string()),
        (
            Some(Found {
                value: Value::Empty { at },
                ..
            }),
            _,
        ) => (*at, *at, format!(" {sha}")),
        (
            None,
            Some(Insert::Line {
                at,
                indent,
                eol,
                leading,
            }),
        ) => {
            let line = format!("{indent}sha256: {sha}");
            (
                *at,
                *at,
                if *leading {
                    format!("{eol}{line}")
                } else {
                    format!("{line}{eol}")
                },
            )
        }
        (None, Some(Insert::Flow { at })) => (*at, *at, format!(", sha256: {sha}")),
        _ => {
            return Err(super::unsupported(file, site.line, site, "not found", sha));
        }
    };
    let pin_at = text.find(sha).unwrap_or(0);
    Ok(Edit {
        start,
        end,
        text,
        pin_at,
    })
}

/// `text` with `edits` made (they do not overlap), and where each edit's pin starts in it.
pub(super) fn apply(text: &str, edits: &[Edit]) -> (String, Vec<usize>) {
    let mut order: Vec<usize> = (0..edits.len()).collect();
    order.sort_by_key(|&i| edits[i].start);
    let mut out = String::with_capacity(text.len() + edits.len() * 80);
    let mut offsets = vec![0; edits.len()];
    let mut copied = 0;
    for i in order {
        let edit = &edits[i];
        out.push_str(&text[copied..edit.start]);
        offsets[i] = out.len() + edit.pin_at;
        out.push_str(&edit.text);
        copied = edit.end;
    }
    out.push_str(&text[copied..]);
    (out, offsets)
}
