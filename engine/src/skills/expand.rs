//! `engine skills expand`: a skill's stories become tasks of a `tasks.md` (spec-runner format),
//! with their dependencies, acceptance criteria as the checklist, and `**Skill:**` /
//! `**Story:**` lines that select the skill and story when the task runs.
//!
//! The file's existing bytes are kept: new tasks are appended, stories whose id is already a
//! task are left alone (expanding twice adds nothing), and the file is replaced atomically
//! (a temporary file in the same directory, synced, renamed over it). Text from the skill can
//! never become structure of the file: description lines that a tasks.md reader would take for
//! a heading, a field or a code fence are escaped.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use engine_workflow::{Skill, Story};

/// What an expansion did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expansion {
    /// Story ids appended as tasks, in order.
    pub added: Vec<String>,
    /// Story ids that already were tasks of the file.
    pub skipped: Vec<String>,
    /// The file's new text (what was written, unless nothing was added).
    pub text: String,
}

/// Why the file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExpandError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

/// The tasks `existing` (a tasks.md text, empty for a new file) gains from `skill`'s stories.
pub fn expand_text(existing: &str, skill: &Skill) -> Expansion {
    let known = task_ids(existing);
    let mut text = existing.to_string();
    if text.trim().is_empty() {
        text = "# Tasks\n".to_string();
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let mut added = Vec::new();
    let mut skipped = Vec::new();
    for story in &skill.stories {
        if known.iter().any(|id| id == &story.id) {
            skipped.push(story.id.clone());
            continue;
        }
        text.push('\n');
        text.push_str(&task_block(&skill.name, story));
        added.push(story.id.clone());
    }
    Expansion {
        added,
        skipped,
        text,
    }
}

/// Expands `skill` into the tasks file at `path` (created when missing). Nothing is written
/// when every story already is a task.
pub fn expand_file(path: &Path, skill: &Skill) -> Result<Expansion, ExpandError> {
    let io = |source| ExpandError::Io {
        path: path.display().to_string(),
        source,
    };
    let existing = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|e| {
            io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "not valid UTF-8 (first invalid byte at offset {}); nothing was written",
                    e.utf8_error().valid_up_to()
                ),
            ))
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io(e)),
    };
    let expansion = expand_text(&existing, skill);
    if !expansion.added.is_empty() {
        write_atomic(path, expansion.text.as_bytes()).map_err(io)?;
    }
    Ok(expansion)
}

/// Writes `bytes` to `path` through a synced temporary file renamed over it.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let name = path
        .file_name()
        .map_or_else(|| "tasks.md".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.engine-{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        if let Ok(meta) = std::fs::metadata(path) {
            file.set_permissions(meta.permissions())?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(&dir) {
            d.sync_all()?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The ids of the `### ID: title` headings of a tasks.md text (outside code fences).
fn task_ids(text: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut in_fence = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if let Some(rest) = line.strip_prefix("### ")
            && let Some((id, _)) = rest.split_once(':')
        {
            ids.push(id.trim().to_string());
        }
    }
    ids
}

/// One task in spec-runner's format.
fn task_block(skill: &str, story: &Story) -> String {
    let mut block = String::new();
    let _ = writeln!(block, "### {}: {}", story.id, one_line(&story.title));
    block.push_str("🟡 P2 | ⬜ TODO\n");
    let description = story.description.trim();
    if !description.is_empty() {
        block.push('\n');
        for line in description.lines() {
            block.push_str(&escape_line(line));
            block.push('\n');
        }
    }
    block.push('\n');
    let _ = writeln!(block, "**Skill:** {skill}");
    let _ = writeln!(block, "**Story:** {}", story.id);
    if !story.acceptance_criteria.is_empty() {
        block.push_str("\n**Checklist:**\n");
        for criterion in &story.acceptance_criteria {
            let _ = writeln!(block, "- [ ] {}", one_line(criterion));
        }
    }
    block.push('\n');
    if story.depends_on.is_empty() {
        block.push_str("**Depends on:** —\n");
    } else {
        let deps: Vec<String> = story.depends_on.iter().map(|d| format!("[{d}]")).collect();
        let _ = writeln!(block, "**Depends on:** {}", deps.join(", "));
    }
    block
}

/// `text` on one line: every run of whitespace (newlines included) is one space.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A description line a tasks.md reader takes as written text: a heading, a `**Field:**`, a
/// code fence or a metadata-looking line gets a leading backslash.
fn escape_line(line: &str) -> String {
    let trimmed = line.trim_start();
    let structural = trimmed.starts_with('#')
        || trimmed.starts_with("**")
        || trimmed.starts_with("```")
        || trimmed.starts_with("~~~")
        || trimmed.starts_with("---")
        || trimmed.starts_with("- [")
        || looks_like_metadata(trimmed);
    if structural {
        format!("\\{trimmed}")
    } else {
        line.to_string()
    }
}

/// `P0 |`, `🔴 P1 |`: what a reader could take for a task's metadata line.
fn looks_like_metadata(line: &str) -> bool {
    let rest = line
        .trim_start_matches(|c: char| !c.is_ascii())
        .trim_start();
    let Some(digits) = rest.strip_prefix(['P', 'p']) else {
        return false;
    };
    let n = digits.bytes().take_while(u8::is_ascii_digit).count();
    n > 0 && digits[n..].trim_start().starts_with('|')
}

#[cfg(test)]
#[path = "expand_tests.rs"]
mod tests;
