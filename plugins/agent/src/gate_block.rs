//! Parsing the `<COMPLETION_GATE>` block of the `gate` dialect:
//!
//! ```text
//! <COMPLETION_GATE>
//! ready: true
//! reason: all criteria met
//! progress: 3/3 done
//! blockers: []
//! </COMPLETION_GATE>
//! ```
//!
//! Lenient: keys in any case and order, `blockers` inline (`[a, b]`) or as `- item` lines, a
//! JSON object instead of lines, a missing closing tag (the block runs to the end).

use serde_json::{Value, json};

const OPEN: &str = "<COMPLETION_GATE>";
const CLOSE: &str = "</COMPLETION_GATE>";

/// One parsed gate block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GateBlock {
    /// `ready:`; `None` when missing or not a boolean.
    pub ready: Option<bool>,
    /// `reason:`.
    pub reason: String,
    /// `progress:`.
    pub progress: String,
    /// `blockers:`.
    pub blockers: Vec<String>,
}

impl GateBlock {
    /// The block as JSON, for the stage's outputs.
    pub fn to_json(&self) -> Value {
        json!({
            "ready": self.ready,
            "reason": self.reason,
            "progress": self.progress,
            "blockers": self.blockers,
        })
    }
}

/// The last gate block in `text`, if any.
pub fn last_block(text: &str) -> Option<GateBlock> {
    let start = text.rfind(OPEN)? + OPEN.len();
    let body = &text[start..];
    let body = body.find(CLOSE).map_or(body, |end| &body[..end]);
    Some(parse(body))
}

fn parse(body: &str) -> GateBlock {
    let trimmed = body.trim();
    if trimmed.starts_with('{')
        && let Ok(Value::Object(map)) = serde_json::from_str::<Value>(trimmed)
    {
        return from_json(&Value::Object(map));
    }
    let mut gate = GateBlock::default();
    let mut in_blockers = false;
    for line in body.lines().map(str::trim) {
        if line.is_empty() {
            continue;
        }
        if in_blockers && let Some(item) = line.strip_prefix("- ").or(line.strip_prefix("* ")) {
            push_blocker(&mut gate.blockers, item);
            continue;
        }
        in_blockers = false;
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim().to_ascii_lowercase().as_str() {
            "ready" => gate.ready = boolean(value),
            "reason" => gate.reason = unquote(value).to_string(),
            "progress" => gate.progress = unquote(value).to_string(),
            "blockers" => {
                if value.is_empty() {
                    in_blockers = true;
                } else {
                    inline_list(value, &mut gate.blockers);
                }
            }
            _ => {}
        }
    }
    gate
}

fn from_json(value: &Value) -> GateBlock {
    let text = |key: &str| match value.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let ready = match value.get("ready") {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) => boolean(s),
        _ => None,
    };
    let blockers = match value.get("blockers") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .filter(|s| !s.is_empty())
            .collect(),
        Some(Value::String(s)) if !s.trim().is_empty() => vec![s.trim().to_string()],
        _ => Vec::new(),
    };
    GateBlock {
        ready,
        reason: text("reason"),
        progress: text("progress"),
        blockers,
    }
}

fn boolean(value: &str) -> Option<bool> {
    match unquote(value).to_ascii_lowercase().as_str() {
        "true" | "yes" => Some(true),
        "false" | "no" => Some(false),
        _ => None,
    }
}

fn unquote(value: &str) -> &str {
    let v = value.trim();
    v.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
        .unwrap_or(v)
}

fn inline_list(value: &str, out: &mut Vec<String>) {
    let inner = value
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(value);
    for item in inner.split(',') {
        push_blocker(out, item);
    }
}

fn push_blocker(out: &mut Vec<String>, item: &str) {
    let item = unquote(item);
    if !item.is_empty() && !item.eq_ignore_ascii_case("none") {
        out.push(item.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_field() {
        let g = last_block(
            "x <COMPLETION_GATE>\nReady: TRUE\nreason: \"all met\"\nprogress: 3/3\nblockers: [a, 'b c']\n</COMPLETION_GATE> y",
        )
        .unwrap();
        assert_eq!(
            g,
            GateBlock {
                ready: Some(true),
                reason: "all met".into(),
                progress: "3/3".into(),
                blockers: vec!["a".into(), "b c".into()],
            }
        );
    }

    #[test]
    fn blockers_as_lines_and_missing_close() {
        let g = last_block("<COMPLETION_GATE>\nready: no\nblockers:\n- db down\n- none\nreason: x")
            .unwrap();
        assert_eq!(g.ready, Some(false));
        assert_eq!(g.blockers, ["db down"]);
        assert_eq!(g.reason, "x");
    }

    #[test]
    fn json_body_is_accepted() {
        let g = last_block(
            "<COMPLETION_GATE>{\"ready\": false, \"reason\": \"wip\", \"blockers\": [\"ci\"]}</COMPLETION_GATE>",
        )
        .unwrap();
        assert_eq!(g.ready, Some(false));
        assert_eq!(g.reason, "wip");
        assert_eq!(g.blockers, ["ci"]);
    }

    #[test]
    fn last_block_wins_and_absent_is_none() {
        let g = last_block("<COMPLETION_GATE>ready: true</COMPLETION_GATE><COMPLETION_GATE>\nready: false\n</COMPLETION_GATE>").unwrap();
        assert_eq!(g.ready, Some(false));
        assert!(last_block("nothing").is_none());
        assert_eq!(
            last_block("<COMPLETION_GATE>\nready: maybe\n</COMPLETION_GATE>")
                .unwrap()
                .ready,
            None
        );
    }
}
