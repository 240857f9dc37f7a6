//! Scenario turns for the mock model API (the format is documented in mock/scenario.py), and the
//! texts the backends' tests share.

use serde_json::{Value, json};

/// The final answer that completes a session (`completion: promise`).
pub const DONE: &str = "The file is written. <promise>COMPLETE</promise>";

/// The gate: hello.txt says hello (run by `sh`, the one program the gate may run).
pub const GATE: &str = "sh -c 'test \"$(cat hello.txt)\" = hello'";

/// A review persona's reply approving the change (builtin:review's verdict JSON).
pub const APPROVE: &str =
    r#"{"verdict": "approve", "summary": "The change does what the task asks.", "findings": []}"#;

/// A turn's usage: `[input, output, cache_read, cache_write]`. APIs without cache writes
/// (`OpenAI`, Gemini) are given as `[input, output, cache_read]`.
pub struct Usage([u64; 4]);

impl From<[u64; 4]> for Usage {
    fn from(tokens: [u64; 4]) -> Usage {
        Usage(tokens)
    }
}

impl From<[u64; 3]> for Usage {
    fn from([input, output, cache_read]: [u64; 3]) -> Usage {
        Usage([input, output, cache_read, 0])
    }
}

/// The scenario's `usage` object for `usage`.
pub fn usage_json(usage: impl Into<Usage>) -> Value {
    let Usage([input, output, cache_read, cache_write]) = usage.into();
    json!({"input": input, "output": output, "cache_read": cache_read, "cache_write": cache_write})
}

/// A tool turn writing `content` to `path` (relative to the worktree) with the CLI's own
/// file-writing tool (aider: an edit block), after `text`.
pub fn write_saying(path: &str, content: &str, text: &str, usage: impl Into<Usage>) -> Value {
    json!({"do": "tool", "tool": "write", "path": path, "content": content,
           "text": text, "usage": usage_json(usage)})
}

/// [`write_saying`] after "Writing the file.".
pub fn write(path: &str, content: &str, usage: impl Into<Usage>) -> Value {
    write_saying(path, content, "Writing the file.", usage)
}

/// A tool turn running `command` with the CLI's shell tool.
pub fn shell(command: &str, usage: impl Into<Usage>) -> Value {
    json!({"do": "tool", "tool": "shell", "command": command, "usage": usage_json(usage)})
}

/// A final text turn.
pub fn text(text: &str, usage: impl Into<Usage>) -> Value {
    json!({"do": "text", "text": text, "usage": usage_json(usage)})
}
