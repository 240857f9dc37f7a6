//! {{name}}: an engine stage. It counts the lines that hold a marker (`TODO` by default) in the
//! files its config names, logs what it found, returns the count as an output, and fails when
//! there are more than `max`.
//!
//! `engine plugin build` builds it into dist/{{name}}.wasm; workflow.yaml runs it. The logic
//! worth testing is in plain functions ([`marker_lines`]), tested on the host with `cargo test`.

use engine_stage_sdk::{
    Context, Descriptor, Permissions, Stage, StageError, Success, WORKSPACE, WorkspaceAccess, log,
};
use serde::Deserialize;
use serde_json::json;

/// The stage.
struct Plugin;

/// The stage's `with:` block in the workflow.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Files to read, relative to the repository's root.
    #[serde(default = "default_files")]
    files: Vec<String>,
    /// The text to look for.
    #[serde(default = "default_marker")]
    marker: String,
    /// Fail when more lines than this hold the marker (no limit when absent).
    #[serde(default)]
    max: Option<usize>,
}

fn default_files() -> Vec<String> {
    vec!["README.md".to_string()]
}

fn default_marker() -> String {
    "TODO".to_string()
}

impl Stage for Plugin {
    type Config = Config;

    fn describe() -> Descriptor {
        Descriptor::new(
            "{{name}}",
            env!("CARGO_PKG_VERSION"),
            "Counts the lines holding a marker (TODO) in some files",
        )
        .config_schema(&json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "files": { "type": "array", "items": { "type": "string" }, "default": ["README.md"] },
                "marker": { "type": "string", "minLength": 1, "default": "TODO" },
                "max": { "type": "integer", "minimum": 0 }
            }
        }))
        // Read the run's worktree (mounted at /workspace); nothing else.
        .permissions(Permissions {
            workspace: WorkspaceAccess::Read,
            ..Permissions::default()
        })
    }

    fn run(ctx: Context<Config>) -> Result<Success, StageError> {
        let config = &ctx.config;
        let mut found = Vec::new();
        for file in &config.files {
            let text = match std::fs::read_to_string(format!("{WORKSPACE}/{file}")) {
                Ok(text) => text,
                Err(e) => {
                    log::warn(&format!("{file}: {e}; skipped"));
                    continue;
                }
            };
            let lines = marker_lines(&text, &config.marker);
            log::info(&format!(
                "{file}: {} line(s) hold {:?}",
                lines.len(),
                config.marker
            ));
            found.extend(lines.into_iter().map(|line| format!("{file}:{line}")));
        }
        if let Some(max) = config.max
            && found.len() > max
        {
            return Err(StageError::fatal(format!(
                "{} lines hold {:?}, more than the {max} allowed: {}",
                found.len(),
                config.marker,
                found.join(", ")
            ))
            .with_detail(json!({ "lines": found })));
        }
        Ok(
            Success::new(format!("{} line(s) hold {:?}", found.len(), config.marker))
                .output("count", found.len())
                .output("lines", found),
        )
    }
}

/// The 1-based numbers of the lines of `text` that contain `marker`.
fn marker_lines(text: &str, marker: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.contains(marker))
        .map(|(index, _)| index + 1)
        .collect()
}

engine_stage_sdk::export_stage!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_lines_are_numbered_from_one() {
        let text = "# notes\nTODO: write docs\nfine\n- [ ] TODO tests\n";
        assert_eq!(marker_lines(text, "TODO"), vec![2, 4]);
        assert!(marker_lines(text, "FIXME").is_empty());
    }
}
