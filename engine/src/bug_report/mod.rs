//! `engine bug-report`: one tar file with what a maintainer needs to understand a run — its
//! log, `engine show --json`, the versions of engine and of the programs runs use, the
//! workflow and how it set the run up — with every secret redacted before it enters the
//! archive ([`redact`]), and a `README.txt` manifest saying what is inside and what was
//! redacted. The archive is written atomically (a temporary file renamed into place) and never
//! replaces an existing file unless asked to.

pub mod contents;
pub mod redact;
pub mod tar;
pub mod versions;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::EngineError;
use contents::{RunContents, config_json, load_run, secret_names, workflow_document};
use redact::Scrubber;

/// The largest workflow file `--workflow` reads.
const MAX_WORKFLOW_FILE_BYTES: u64 = 4 << 20;

/// What to report on and where to write it.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The run (an id or a unique prefix); the latest when `None`.
    pub run: Option<String>,
    /// The archive to write; `engine-bug-report-<run>.tar` in the current directory when
    /// `None`.
    pub out: Option<PathBuf>,
    /// A workflow file to include as well (e.g. the one being edited since the run).
    pub workflow: Option<PathBuf>,
    /// Replace `out` if it exists.
    pub force: bool,
}

/// A bug report that was written.
#[derive(Debug, Clone)]
pub struct Written {
    /// Where.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// The run it is about.
    pub run_id: String,
    /// The files inside, in order.
    pub files: Vec<String>,
    /// What was redacted: (kind, how many times).
    pub redacted: BTreeMap<String, usize>,
}

/// A file of the archive: its name, what it is, its (already redacted) text.
struct Entry {
    name: &'static str,
    about: String,
    text: String,
}

/// Writes the bug report of state directory `state_dir` that `options` asks for.
pub fn write_bug_report(state_dir: &Path, options: &Options) -> Result<Written, EngineError> {
    let run = load_run(state_dir, options.run.as_deref())?;
    let run_id = run.record.meta.run_id.clone();
    let out = match &options.out {
        Some(out) => out.clone(),
        None => PathBuf::from(format!("engine-bug-report-{run_id}.tar")),
    };
    if out.is_dir() {
        return Err(EngineError::Usage(format!(
            "--out {}: a directory; give a file name (e.g. {}/report.tar)",
            out.display(),
            out.display()
        )));
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        return Err(EngineError::Usage(format!(
            "--out {}: the directory {} does not exist",
            out.display(),
            parent.display()
        )));
    }
    if !options.force && out.symlink_metadata().is_ok() {
        return Err(EngineError::Usage(format!(
            "{} already exists; pass --force to replace it, or --out to write elsewhere",
            out.display()
        )));
    }
    let extra_workflow = match &options.workflow {
        Some(file) => Some((
            file.clone(),
            engine_workflow::read_text_file(file, MAX_WORKFLOW_FILE_BYTES, "the workflow file")
                .map_err(|why| {
                    EngineError::Usage(format!("--workflow {}: {why}", file.display()))
                })?,
        )),
        None => None,
    };
    let (entries, redacted) = entries(state_dir, &run, extra_workflow)?;
    let mtime = run.record.meta.created_at_ms / 1000;
    let mut archive = tar::TarBuilder::new(mtime);
    let mut files = Vec::new();
    for entry in &entries {
        archive
            .add(entry.name, entry.text.as_bytes())
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        files.push(entry.name.to_string());
    }
    let bytes = archive.finish();
    write_atomically(&out, &bytes, options.force)?;
    Ok(Written {
        path: out,
        bytes: bytes.len() as u64,
        run_id,
        files,
        redacted,
    })
}

/// The archive's files, redacted, `README.txt` first, and what was redacted.
fn entries(
    state_dir: &Path,
    run: &RunContents,
    extra_workflow: Option<(PathBuf, String)>,
) -> Result<(Vec<Entry>, BTreeMap<String, usize>), EngineError> {
    let meta = &run.record.meta;
    let document = workflow_document(&meta.workflow_source);
    let mut named = document.as_ref().map(secret_names).unwrap_or_default();
    if let Some(doc) = extra_workflow
        .as_ref()
        .and_then(|(_, text)| workflow_document(text))
    {
        named.extend(secret_names(&doc));
    }
    let environment: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let mut secrets = redact::environment_secrets(named.iter().map(String::as_str), environment);
    secrets.extend(document.iter().flat_map(redact::document_secrets));
    if let Some(doc) = extra_workflow
        .as_ref()
        .and_then(|(_, text)| workflow_document(text))
    {
        secrets.extend(redact::document_secrets(&doc));
    }
    let mut scrubber = Scrubber::new(secrets);

    let mut entries = Vec::new();
    let mut show = run.show_json()?;
    scrubber.json(&mut show);
    entries.push(Entry {
        name: "show.json",
        about: format!(
            "`engine show --json {}`: the run's facts, state and events",
            meta.run_id
        ),
        text: render(&show)?,
    });
    entries.push(Entry {
        name: "logs.txt",
        about: format!(
            "`engine logs {}`: everything the run's stages printed",
            meta.run_id
        ),
        text: scrubber.text(&run.log_text(state_dir)?),
    });
    entries.push(Entry {
        name: "workflow.yaml",
        about: format!(
            "the workflow as the run used it (from {})",
            meta.workflow_file.display()
        ),
        text: scrubber.text(&meta.workflow_source),
    });
    if let Some((file, text)) = extra_workflow {
        entries.push(Entry {
            name: "workflow-given.yaml",
            about: format!(
                "the workflow file given with --workflow ({})",
                file.display()
            ),
            text: scrubber.text(&text),
        });
    } else if let Some(current) = std::fs::read_to_string(&meta.workflow_file)
        .ok()
        .filter(|c| *c != meta.workflow_source)
    {
        entries.push(Entry {
            name: "workflow-current.yaml",
            about: format!(
                "{} as it is now (it changed since the run started)",
                meta.workflow_file.display()
            ),
            text: scrubber.text(&current),
        });
    }
    let mut config = config_json(document.as_ref(), |name| std::env::var_os(name).is_some());
    scrubber.json(&mut config);
    entries.push(Entry {
        name: "config.json",
        about: "how the run was set up: task source, agents and backends, sandbox, git, \
                limits, each stage's plugin, backend and permissions, which secrets are set"
            .into(),
        text: render(&config)?,
    });
    let extra_programs = agent_commands(document.as_ref());
    entries.push(Entry {
        name: "versions.txt",
        about: "versions of engine, wasmtime, the OS and kernel, git, bwrap and the agent CLIs"
            .into(),
        text: scrubber.text(&versions::versions_text(&extra_programs)),
    });
    let redacted = scrubber.counts().clone();
    let readme = readme(&meta.run_id, &entries, &redacted, &scrubber.variables());
    entries.insert(
        0,
        Entry {
            name: "README.txt",
            about: String::new(),
            text: readme,
        },
    );
    Ok((entries, redacted))
}

/// The programs the workflow's `agents.backends.<name>.command` and `agents.custom` run
/// instead of the built-in CLIs: (label, program).
fn agent_commands(document: Option<&serde_json::Value>) -> Vec<(String, String)> {
    let Some(agents) = document.and_then(|d| d.get("agents")) else {
        return Vec::new();
    };
    let mut programs = Vec::new();
    for section in ["backends", "custom"] {
        let Some(map) = agents.get(section).and_then(serde_json::Value::as_object) else {
            continue;
        };
        for (name, backend) in map {
            let program = backend
                .get("command")
                .and_then(|c| c.get(0))
                .and_then(serde_json::Value::as_str);
            if let Some(program) = program {
                programs.push((
                    format!("agent {name} (workflow command)"),
                    program.to_string(),
                ));
            }
        }
    }
    programs
}

/// The manifest: what each file is, what was redacted, what to check before sharing.
fn readme(
    run_id: &str,
    entries: &[Entry],
    redacted: &BTreeMap<String, usize>,
    variables: &[&str],
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "engine bug report for run {run_id}");
    let _ = writeln!(out, "written by engine {}\n", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(out, "Files:");
    let _ = writeln!(out, "  README.txt  this manifest");
    for entry in entries {
        let _ = writeln!(out, "  {}  {}", entry.name, entry.about);
    }
    let _ = writeln!(out, "\nRedacted (each replaced by \"[redacted]\"):");
    if redacted.is_empty() {
        let _ = writeln!(out, "  nothing was found to redact");
    }
    for (kind, count) in redacted {
        let _ = writeln!(out, "  {kind}: {count}");
    }
    let _ = writeln!(
        out,
        "\nValues looked for: the values of {}; tokens by shape (GitHub ghp_/gho_/ghu_/ghs_/ghr_/\
         github_pat_, sk- API keys, Slack xox*-, AWS AKIA/ASIA key ids, Bearer tokens, \
         Authorization headers, private keys, user:password@ in URLs); values of keys named \
         like token, secret, password, passphrase, api_key, private_key or credential; the \
         values of env: and agents.env are left out of config.json.",
        if variables.is_empty() {
            "(none set)".to_string()
        } else {
            variables.join(", ")
        }
    );
    let _ = writeln!(
        out,
        "\nRead the files before you share them: a secret of another shape, not named by the \
         workflow and not under a secret-like key, cannot be recognised."
    );
    out
}

fn render(value: &serde_json::Value) -> Result<String, EngineError> {
    serde_json::to_string_pretty(value)
        .map(|mut s| {
            s.push('\n');
            s
        })
        .map_err(|e| EngineError::Internal(format!("cannot render JSON: {e}")))
}

/// Writes `bytes` to `out` through a temporary file in the same directory, synced, then moved
/// into place: replacing `out` only when `force`, else failing if it appeared meanwhile.
fn write_atomically(out: &Path, bytes: &[u8], force: bool) -> Result<(), EngineError> {
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = out
        .file_name()
        .ok_or_else(|| EngineError::Usage(format!("--out {}: not a file name", out.display())))?;
    let temp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(EngineError::io(&temp, e));
    }
    let placed = if force {
        std::fs::rename(&temp, out)
    } else {
        // A hard link fails if `out` exists: no window in which another file is replaced.
        let linked = std::fs::hard_link(&temp, out);
        let _ = std::fs::remove_file(&temp);
        linked
    };
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&temp);
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            return Err(EngineError::Usage(format!(
                "{} already exists; pass --force to replace it, or --out to write elsewhere",
                out.display()
            )));
        }
        return Err(EngineError::io(out, e));
    }
    if let Ok(dir) = std::fs::File::open(&dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_archive_is_not_written_over_an_existing_file_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("r.tar");
        write_atomically(&out, b"one", false).unwrap();
        let err = write_atomically(&out, b"two", false).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        assert_eq!(std::fs::read(&out).unwrap(), b"one");
        write_atomically(&out, b"three", true).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"three");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file is left");
    }

    #[test]
    fn workflow_commands_are_asked_for_their_version() {
        let doc = contents::workflow_document(
            "agents: { backends: { claude: { command: [/opt/c, x] } }, custom: { me: { command: [me] } } }",
        );
        assert_eq!(
            agent_commands(doc.as_ref()),
            [
                (
                    "agent claude (workflow command)".to_string(),
                    "/opt/c".to_string()
                ),
                ("agent me (workflow command)".to_string(), "me".to_string())
            ]
        );
    }
}
