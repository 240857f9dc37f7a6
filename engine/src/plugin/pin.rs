//! `engine plugin pin`: brings the `sha256:` pins of a workflow's plugin stages (and of its
//! `tasks:` source) up to date with their `.wasm` files, in place: only the pin's value changes
//! (inside its quotes, if it has any), or, where a stage has no `sha256:`, one line is inserted
//! after its `uses:` with the same indentation (`, sha256: ...` after the value in a flow
//! mapping). Comments, quoting, key order, line breaks and everything else stay byte for byte.
//!
//! The loader is the judge: the workflow must load but for its pins (other problems are
//! reported, nothing is written), and the rewritten text must load with exactly the new pins
//! before it replaces the file (atomically, permissions kept). A pin written in a form this
//! module does not rewrite (an alias, a block scalar) is an error naming its `file:line`, with
//! the value to set by hand.

mod edit;
mod error;
mod flow;
mod locate;
mod scalar;
#[cfg(test)]
mod tests;
mod verify;
mod write;

use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use edit::{Edit, apply, edit_for};
pub use error::PinError;
use locate::{Found, Owner, Site};
use scalar::Value;

/// Whose pin a change is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinTarget {
    /// A stage (of `stages:` or `finally:`).
    Stage(String),
    /// The `tasks:` section's source.
    TaskSource,
}

impl fmt::Display for PinTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PinTarget::Stage(id) => write!(f, "stage {id}"),
            PinTarget::TaskSource => f.write_str("tasks.source"),
        }
    }
}

/// One pin, brought up to date or found current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinChange {
    /// Whose pin it is.
    pub target: PinTarget,
    /// The component file (the workflow's directory joined with `uses:`).
    pub plugin: PathBuf,
    /// The 1-based line of the pin in the rewritten file; when only checked, of the pin (or,
    /// missing, of the `uses:`) in the file as it is.
    pub line: usize,
    /// The pin as it was (`None`: there was none, or it was empty).
    pub old: Option<String>,
    /// The file's sha256.
    pub new: String,
}

impl PinChange {
    /// Whether the pin was stale (or missing).
    pub fn changed(&self) -> bool {
        self.old.as_deref() != Some(self.new.as_str())
    }

    /// The line `engine plugin pin` prints: `stage hello: sha256 3f2a… -> 9b1c…`, `... (none)
    /// -> 9b1c…`, or `stage hello: sha256 9b1c… unchanged`; with `check`, a stale pin says it
    /// is stale (or missing) and where.
    pub fn describe(&self, check: bool) -> String {
        let short = |sha: &str| format!("{}…", sha.chars().take(12).collect::<String>());
        let target = crate::terminal::safe(&self.target.to_string()).into_owned();
        if !self.changed() {
            return format!("{target}: sha256 {} unchanged", short(&self.new));
        }
        let old = self.old.as_deref().map_or_else(
            || "(none)".to_string(),
            |old| crate::terminal::safe(&short(old)).into_owned(),
        );
        if check && self.old.is_none() {
            format!(
                "{target}: sha256 is missing (line {}; the file's is {})",
                self.line,
                short(&self.new)
            )
        } else if check {
            format!(
                "{target}: sha256 {old} is stale (line {}; the file's is {})",
                self.line,
                short(&self.new)
            )
        } else {
            format!("{target}: sha256 {old} -> {}", short(&self.new))
        }
    }
}

/// Which pins to bring up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinSelection<'a> {
    /// Every stage that uses a file, and the task source when it is a file.
    All,
    /// The stage with this id.
    Stage(&'a str),
    /// The `tasks:` source.
    TaskSource,
}

/// How [`pin`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinOptions<'a> {
    /// The pins to look at.
    pub selection: PinSelection<'a>,
    /// Change nothing: only say which pins are stale.
    pub check: bool,
}

/// Brings the pins of `workflow` up to date: every stage that uses a file, or only `stage`.
/// Returns one [`PinChange`] per pin looked at (changed or not).
pub fn pin_workflow(workflow: &Path, stage: Option<&str>) -> Result<Vec<PinChange>, PinError> {
    pin(
        workflow,
        &PinOptions {
            selection: stage.map_or(PinSelection::All, PinSelection::Stage),
            check: false,
        },
    )
}

/// Brings the pin of the workflow's `tasks:` source up to date.
pub fn pin_task_source(workflow: &Path) -> Result<PinChange, PinError> {
    let changes = pin(
        workflow,
        &PinOptions {
            selection: PinSelection::TaskSource,
            check: false,
        },
    )?;
    changes
        .into_iter()
        .next()
        .ok_or_else(|| PinError::NoTaskSource {
            file: workflow.display().to_string(),
        })
}

/// Looks at the pins `options` selects; unless `options.check`, rewrites the stale ones in
/// place. Returns one [`PinChange`] per pin looked at.
pub fn pin(workflow: &Path, options: &PinOptions<'_>) -> Result<Vec<PinChange>, PinError> {
    let file = workflow.display().to_string();
    let (bom, text) = verify::read(workflow, &file)?;
    let base_dir = match workflow.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let sites = locate::sites(&text);
    let before = engine_workflow::load_str(&file, &base_dir, &text);
    if let Err(diagnostics) = &before {
        verify::only_pin_problems(diagnostics, &sites)?;
    }
    let chosen = select(&sites, options.selection, &file)?;
    let mut edits: Vec<Edit> = Vec::new();
    let mut changes = Vec::new();
    for site in chosen {
        let uses = uses_of(site, &file)?;
        if is_builtin(site, &uses) {
            continue;
        }
        let plugin = plugin_path(&base_dir, &uses);
        let new = file_sha256(&plugin).map_err(|source| PinError::PluginFile {
            file: file.clone(),
            line: site.uses.as_ref().map_or(site.line, |u| u.line),
            field: field(site, uses_key(site)),
            plugin: plugin.clone(),
            source,
        })?;
        let (old, line) = match &site.pin {
            Some(Found {
                value: Value::Scalar(scalar),
                line,
            }) => (Some(scalar.text.clone()), *line),
            Some(Found {
                value: Value::Empty { .. },
                line,
            }) => (None, *line),
            Some(Found {
                value: Value::Unsupported { what, .. },
                line,
            }) => return Err(unsupported(&file, *line, site, what, &new)),
            None => (None, site.uses.as_ref().map_or(site.line, |u| u.line)),
        };
        let change = PinChange {
            target: target_of(site),
            plugin,
            line,
            old,
            new,
        };
        if change.changed() {
            edits.push(edit_for(site, &change.new, &file)?);
            changes.push((change, Some(edits.len() - 1)));
        } else {
            changes.push((change, None));
        }
    }
    let expected: Vec<(PinTarget, String)> = changes
        .iter()
        .map(|(change, _)| (change.target.clone(), change.new.clone()))
        .collect();
    let all = options.selection == PinSelection::All;
    if edits.is_empty() {
        // Nothing to rewrite: no pin may be stale where this module cannot see it either.
        if all && let Ok(loaded) = &before {
            let located: Vec<PinTarget> = expected.iter().map(|(t, _)| t.clone()).collect();
            verify::unlocated(loaded, &located)?;
        }
        return Ok(changes.into_iter().map(|(change, _)| change).collect());
    }
    let (rewritten, offsets) = apply(&text, &edits);
    verify::reads_back(&file, &base_dir, &rewritten, &expected, &sites, all)?;
    if !options.check {
        let mut bytes = Vec::with_capacity(rewritten.len() + 3);
        if bom {
            bytes.extend_from_slice("\u{feff}".as_bytes());
        }
        bytes.extend_from_slice(rewritten.as_bytes());
        write::replace(workflow, &bytes).map_err(|source| PinError::Write {
            file: file.clone(),
            source,
        })?;
    }
    Ok(changes
        .into_iter()
        .map(|(mut change, edit)| {
            // Rewritten, a pin is where it now is; checked, where the file has it (or its
            // `uses:`).
            if let Some(offset) = edit.and_then(|i| offsets.get(i)).filter(|_| !options.check) {
                change.line = rewritten[..*offset].matches('\n').count() + 1;
            }
            change
        })
        .collect())
}

/// The sites `selection` names.
fn select<'s>(
    sites: &'s [Site],
    selection: PinSelection<'_>,
    file: &str,
) -> Result<Vec<&'s Site>, PinError> {
    match selection {
        PinSelection::All => Ok(sites.iter().collect()),
        PinSelection::TaskSource => {
            let site = sites
                .iter()
                .find(|s| s.owner == Owner::TaskSource)
                .filter(|s| uses_text(s).is_none_or(|u| !is_builtin(s, &u)))
                .ok_or_else(|| PinError::NoTaskSource {
                    file: file.to_string(),
                })?;
            Ok(vec![site])
        }
        PinSelection::Stage(id) => {
            let site = sites
                .iter()
                .find(|s| matches!(&s.owner, Owner::Stage { id: own, .. } if own == id))
                .ok_or_else(|| PinError::UnknownStage {
                    file: file.to_string(),
                    stage: id.to_string(),
                    known: sites
                        .iter()
                        .filter_map(|s| match &s.owner {
                            Owner::Stage { id, .. } => Some(id.clone()),
                            Owner::TaskSource => None,
                        })
                        .collect(),
                })?;
            if let Some(uses) = uses_text(site).filter(|u| is_builtin(site, u)) {
                return Err(PinError::Builtin {
                    file: file.to_string(),
                    line: site.uses.as_ref().map_or(site.line, |u| u.line),
                    field: field(site, "uses"),
                    target: target_of(site),
                    uses,
                });
            }
            Ok(vec![site])
        }
    }
}

/// The `uses:` text of a site, when it is a scalar.
fn uses_text(site: &Site) -> Option<String> {
    match site.uses.as_ref().map(|u| &u.value) {
        Some(Value::Scalar(scalar)) => Some(scalar.text.clone()),
        _ => None,
    }
}

/// The `uses:` text of a site, or why it cannot be read.
fn uses_of(site: &Site, file: &str) -> Result<String, PinError> {
    match site.uses.as_ref() {
        Some(Found {
            value: Value::Scalar(scalar),
            ..
        }) => Ok(scalar.text.clone()),
        Some(Found {
            value: Value::Unsupported { what, .. },
            line,
        }) => Err(PinError::Unsupported {
            file: file.to_string(),
            line: *line,
            field: field(site, uses_key(site)),
            why: format!("the value is {what}; give the plugin's path as a plain or quoted value"),
        }),
        _ => Err(PinError::Unsupported {
            file: file.to_string(),
            line: site.line,
            field: field(site, uses_key(site)),
            why: "no plugin named here".to_string(),
        }),
    }
}

/// The error for a pin that cannot be rewritten: where, why, and the value to set by hand.
fn unsupported(file: &str, line: usize, site: &Site, what: &str, sha: &str) -> PinError {
    PinError::Unsupported {
        file: file.to_string(),
        line,
        field: field(site, "sha256"),
        why: format!(
            "the pin is {what}, which engine plugin pin does not rewrite; set it by hand to \
             {sha}"
        ),
    }
}

/// `uses` for a stage, `source` for the task source.
fn uses_key(site: &Site) -> &'static str {
    match site.owner {
        Owner::Stage { .. } => "uses",
        Owner::TaskSource => "source",
    }
}

/// The dotted field of the site's `key`: `stages.hello.sha256`, `tasks.source`.
fn field(site: &Site, key: &str) -> String {
    match &site.owner {
        Owner::Stage { section, id } => format!("{section}.{id}.{key}"),
        Owner::TaskSource => format!("tasks.{key}"),
    }
}

fn target_of(site: &Site) -> PinTarget {
    match &site.owner {
        Owner::Stage { id, .. } => PinTarget::Stage(id.clone()),
        Owner::TaskSource => PinTarget::TaskSource,
    }
}

/// Whether `uses` names a built-in: `builtin:NAME` for a stage; for a task source anything
/// but a `.wasm` path (`tasks-md` is a built-in too).
fn is_builtin(site: &Site, uses: &str) -> bool {
    match site.owner {
        Owner::Stage { .. } => uses.starts_with("builtin:"),
        Owner::TaskSource => !is_wasm_name(uses),
    }
}

/// A task source's `.wasm` path.
#[expect(
    clippy::case_sensitive_file_extension_comparisons,
    reason = "mirrors the schema's case-sensitive `.+\\.wasm$` pattern for `tasks.source`, as \
              the loader does"
)]
fn is_wasm_name(text: &str) -> bool {
    text.len() > ".wasm".len() && text.ends_with(".wasm")
}

/// The file a `uses:` names: relative to the workflow's directory, `.` segments dropped (and a
/// leading `./` when the workflow is in the current directory).
fn plugin_path(base_dir: &Path, uses: &str) -> PathBuf {
    let full: PathBuf = base_dir.join(uses).components().collect();
    match full.strip_prefix(".") {
        Ok(rest) if !rest.as_os_str().is_empty() => rest.to_path_buf(),
        _ => full,
    }
}

/// The sha256 of a file, lowercase hex.
fn file_sha256(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}
