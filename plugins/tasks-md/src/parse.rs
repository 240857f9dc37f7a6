//! Reading a spec-runner `tasks.md`, line by line, keeping where everything is so status
//! write-back can change exactly the right line.
//!
//! - `## Milestone ...` sets the milestone of the tasks after it.
//! - `### TASK-001: title` starts a task; its block runs to the next heading of level 1 to 3
//!   (or the end of the file).
//! - The first metadata line of a block (`🔴 P0 | ⬜ TODO | Est: 2d`) gives priority, status and
//!   estimate; without one a task is `P0`, `TODO`.
//! - `**Checklist:**` or `**Tests...` starts a checklist: `- [ ] item` / `- [x] item` lines until
//!   the next line starting with `**`.
//! - `**Traces to:**`, `**Depends on:**`, `**Blocks:**`: ids with or without brackets; `—`
//!   means none. `A blocks B` makes B depend on A.
//! - Everything else is description. The body of a task is its block without the header and
//!   the metadata line. Fenced code (```` ``` ````) is description, never parsed. A YAML front
//!   matter (`---` ... `---` at the top) is skipped. CRLF line endings and a BOM are accepted.

use engine_source_sdk::{ChecklistItem, Diagnostic, Location, Task, TaskStatus};

use crate::ids::{self, Header};
use crate::metadata::{self, Metadata};

/// A task and where its parts are.
#[derive(Debug, Clone)]
pub(crate) struct Parsed {
    /// The task as listed.
    pub(crate) task: Task,
    /// 0-based line of the header.
    pub(crate) header_line: usize,
    /// The metadata line (0-based) and what it says.
    pub(crate) metadata: Option<(usize, Metadata)>,
    /// 0-based lines of the checklist items, in order.
    pub(crate) checklist_lines: Vec<usize>,
    /// Ids in `**Blocks:**` and the line they are on.
    blocks: Option<(usize, Vec<String>)>,
}

/// An error in the file, and the task it is in (if any).
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    /// Index into [`Document::tasks`] of the task whose block has the problem.
    pub(crate) task: Option<usize>,
    /// The problem.
    pub(crate) diagnostic: Diagnostic,
}

/// A parsed file.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    /// Tasks in file order.
    pub(crate) tasks: Vec<Parsed>,
    /// Problems that make the file unusable as a whole (duplicate ids, bad metadata...).
    pub(crate) errors: Vec<Problem>,
    /// Problems worth telling (unknown ids in `Blocks:`...).
    pub(crate) warnings: Vec<Diagnostic>,
    /// Whether metadata lines written for tasks without one use emoji (like the file's first
    /// metadata line; emoji when there is none).
    pub(crate) emoji_style: bool,
}

impl Document {
    /// The index of the task with exactly this id (the first one, if duplicated).
    pub(crate) fn find(&self, id: &str) -> Option<usize> {
        self.tasks.iter().position(|p| p.task.id == id)
    }
}

/// The lines of `text` without their line endings (`\n` or `\r\n`); a BOM is dropped.
pub(crate) fn lines(text: &str) -> Vec<&str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect()
}

/// Where the parser is inside a task block.
#[derive(Default)]
struct Block {
    parsed: Option<Parsed>,
    body: Vec<String>,
    in_checklist: bool,
}

/// Parses `text`; `file` names the file in locations.
pub(crate) fn parse(text: &str, file: &str) -> Document {
    let mut doc = Document {
        tasks: Vec::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
        emoji_style: true,
    };
    let mut style_known = false;
    let mut milestone: Option<String> = None;
    let mut block = Block::default();
    let mut fence: Option<&str> = None;
    let all = lines(text);
    let start = front_matter_end(&all);
    for (i, &line) in all.iter().enumerate().skip(start) {
        let at = |line_index: usize| Location::line(file, line_no(line_index));
        if let Some(marker) = fence {
            if line.trim_start().starts_with(marker) {
                fence = None;
            }
            block.body.push(line.to_string());
            continue;
        }
        if let Some(marker) = ["```", "~~~"]
            .into_iter()
            .find(|m| line.trim_start().starts_with(m))
        {
            fence = Some(marker);
            block.body.push(line.to_string());
            continue;
        }
        if let Some(level) = heading_level(line) {
            match ids::header(line) {
                Header::Task { id, title } => {
                    finish(&mut block, &mut doc);
                    block.parsed = Some(new_task(id, title, i, milestone.clone(), file));
                    continue;
                }
                Header::Malformed(message) => {
                    finish(&mut block, &mut doc);
                    doc.errors.push(Problem {
                        task: None,
                        diagnostic: Diagnostic::at(at(i), message),
                    });
                    continue;
                }
                Header::No if level <= 3 => {
                    finish(&mut block, &mut doc);
                    if line.starts_with("## Milestone") {
                        milestone = Some(line["## ".len()..].trim().to_string());
                    }
                    continue;
                }
                Header::No => {}
            }
        }
        let task_index = doc.tasks.len();
        let Some(parsed) = block.parsed.as_mut() else {
            continue;
        };
        if parsed.metadata.is_none() {
            match metadata::read(line) {
                metadata::Line::Metadata(m) => {
                    if !style_known {
                        doc.emoji_style = m.emoji_style;
                        style_known = true;
                    }
                    if let Some(emoji) = &m.emoji_mismatch {
                        doc.warnings.push(Diagnostic::at(
                            at(i),
                            format!(
                                "the status emoji {emoji} does not match `{}`; the word counts",
                                m.raw_status
                            ),
                        ));
                    }
                    apply_metadata(&mut parsed.task, &m);
                    parsed.metadata = Some((i, m));
                    continue;
                }
                metadata::Line::Bad(message) => {
                    doc.errors.push(Problem {
                        task: Some(task_index),
                        diagnostic: Diagnostic::at(at(i), message),
                    });
                    block.body.push(line.to_string());
                    continue;
                }
                metadata::Line::Other => {}
            }
        }
        block.body.push(line.to_string());
        if line.starts_with("**Checklist:**") || line.starts_with("**Tests") {
            block.in_checklist = true;
            continue;
        }
        if block.in_checklist {
            if let Some(item) = checklist_item(line) {
                parsed.task.checklist.push(item);
                parsed.checklist_lines.push(i);
                continue;
            }
            if !line.starts_with("**") {
                continue;
            }
            block.in_checklist = false;
        }
        read_field(line, i, task_index, parsed, &mut doc, file);
    }
    finish(&mut block, &mut doc);
    check_duplicates(&mut doc, file);
    fold_blocks(&mut doc, file);
    doc
}

/// 1-based line number of a 0-based index (saturating: files past 4 billion lines are not a
/// concern).
fn line_no(index: usize) -> u32 {
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

/// `Some(level)` for an ATX heading (`#` to `######` followed by a space or nothing).
fn heading_level(line: &str) -> Option<usize> {
    let level = line.bytes().take_while(|b| *b == b'#').count();
    let rest = &line[level..];
    ((1..=6).contains(&level) && (rest.is_empty() || rest.starts_with(' '))).then_some(level)
}

fn new_task(id: &str, title: &str, line: usize, milestone: Option<String>, file: &str) -> Parsed {
    Parsed {
        task: Task {
            id: id.to_string(),
            title: title.to_string(),
            body: String::new(),
            status: TaskStatus::Todo,
            raw_status: String::new(),
            priority: 0,
            labels: Vec::new(),
            depends_on: Vec::new(),
            milestone,
            estimate: None,
            checklist: Vec::new(),
            traces: Vec::new(),
            location: Some(Location::line(file, line_no(line))),
        },
        header_line: line,
        metadata: None,
        checklist_lines: Vec::new(),
        blocks: None,
    }
}

fn apply_metadata(task: &mut Task, m: &Metadata) {
    task.priority = m.priority;
    task.status = m.status;
    task.raw_status.clone_from(&m.raw_status);
    task.estimate.clone_from(&m.estimate);
}

/// `- [ ] text` or `- [x] text` (also `- [X]`).
fn checklist_item(line: &str) -> Option<ChecklistItem> {
    let rest = line.strip_prefix("- [")?;
    let mut chars = rest.chars();
    let mark = chars.next()?;
    let text = chars.as_str().strip_prefix("] ")?;
    let done = match mark {
        ' ' => false,
        'x' | 'X' => true,
        _ => return None,
    };
    Some(ChecklistItem {
        text: text.trim_end().to_string(),
        done,
    })
}

/// `**Traces to:**`, `**Depends on:**` and `**Blocks:**` lines.
fn read_field(
    line: &str,
    i: usize,
    task_index: usize,
    parsed: &mut Parsed,
    doc: &mut Document,
    file: &str,
) {
    let value = |field: &str| line.find(field).map(|at| &line[at + field.len()..]);
    if let Some(text) = value("**Traces to:**") {
        parsed.task.traces = traces(text);
    } else if let Some(text) = value("**Depends on:**") {
        match dependency_ids(text, "Depends on") {
            Ok(found) => parsed.task.depends_on.extend(found),
            Err(message) => doc.errors.push(Problem {
                task: Some(task_index),
                diagnostic: Diagnostic::at(Location::line(file, line_no(i)), message),
            }),
        }
    } else if let Some(text) = value("**Blocks:**") {
        match dependency_ids(text, "Blocks") {
            Ok(found) => parsed.blocks = Some((i, found)),
            Err(message) => doc.errors.push(Problem {
                task: Some(task_index),
                diagnostic: Diagnostic::at(Location::line(file, line_no(i)), message),
            }),
        }
    }
}

/// `[REQ-001], [DESIGN-001]` (or without brackets, comma-separated).
fn traces(text: &str) -> Vec<String> {
    if ids::means_none(text) {
        return Vec::new();
    }
    let bracketed: Vec<String> = text
        .split('[')
        .skip(1)
        .filter_map(|part| part.split_once(']').map(|(inside, _)| inside.trim()))
        .filter(|inside| !inside.is_empty())
        .map(str::to_string)
        .collect();
    if !bracketed.is_empty() {
        return bracketed;
    }
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// The ids of a `Depends on:` or `Blocks:` value; an error when it names none and is not `—`.
fn dependency_ids(text: &str, field: &str) -> Result<Vec<String>, String> {
    if ids::means_none(text) {
        return Ok(Vec::new());
    }
    let found = ids::scan_ids(text);
    if found.is_empty() {
        return Err(format!(
            "`{field}:` names no task id (`{}`); write ids like [TASK-001], or — for none",
            text.trim()
        ));
    }
    Ok(found)
}

/// Ends the current block: sets the body and stores the task.
fn finish(block: &mut Block, doc: &mut Document) {
    if let Some(mut parsed) = block.parsed.take() {
        parsed.task.body = body_text(&block.body);
        if parsed.task.raw_status.is_empty() {
            parsed.task.raw_status = "TODO".to_string();
        }
        doc.tasks.push(parsed);
    }
    *block = Block::default();
}

/// The body lines joined, without blank lines or rules (`---`) at either end.
fn body_text(lines: &[String]) -> String {
    let filler = |l: &&String| {
        let t = l.trim();
        t.is_empty() || t == "---" || t == "***" || t == "___"
    };
    let start = lines
        .iter()
        .position(|l| !filler(&l))
        .unwrap_or(lines.len());
    let end = lines
        .iter()
        .rposition(|l| !filler(&l))
        .map_or(start, |e| e + 1);
    lines[start..end.max(start)]
        .iter()
        .map(|l| l.trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every id used by more than one task is an error at each of its headers.
fn check_duplicates(doc: &mut Document, file: &str) {
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut errors = Vec::new();
    for (index, parsed) in doc.tasks.iter().enumerate() {
        match seen.get(parsed.task.id.as_str()) {
            None => {
                seen.insert(&parsed.task.id, index);
            }
            Some(&first) => {
                let first_line = doc.tasks[first].header_line;
                errors.push(Problem {
                    task: Some(index),
                    diagnostic: Diagnostic::at(
                        Location::line(file, line_no(parsed.header_line)),
                        format!(
                            "duplicate task id {}: line {} has it already; give each task its \
                             own id",
                            parsed.task.id,
                            line_no(first_line)
                        ),
                    ),
                });
            }
        }
    }
    doc.errors.extend(errors);
}

/// `A blocks B` becomes `B depends on A`; an unknown B is a warning.
fn fold_blocks(doc: &mut Document, file: &str) {
    let mut edges: Vec<(usize, String, String)> = Vec::new();
    for parsed in &doc.tasks {
        if let Some((line, blocked)) = &parsed.blocks {
            for id in blocked {
                edges.push((*line, parsed.task.id.clone(), id.clone()));
            }
        }
    }
    for (line, blocker, blocked) in edges {
        match doc.find(&blocked) {
            Some(index) => {
                let deps = &mut doc.tasks[index].task.depends_on;
                if !deps.contains(&blocker) {
                    deps.push(blocker);
                }
            }
            None => doc.warnings.push(Diagnostic::at(
                Location::line(file, line_no(line)),
                format!("{blocker} blocks {blocked}, which is not a task in this file"),
            )),
        }
    }
}
