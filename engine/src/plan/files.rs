//! The files `engine plan` writes: where they are (engine decides: `--out` and its
//! directory, never the agent), what they hold now, what they will hold (the draft appended
//! after every existing byte, or, with `--force`, in place of it), and the atomic write
//! (temporary file, fsync, rename, fsync of the directory).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::error::PlanError;
use super::reply::Document;

/// The largest existing file engine plans into (the tasks source's own limit).
pub const MAX_FILE_BYTES: u64 = crate::tasks::MAX_TASKS_FILE_BYTES;

/// What happens to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// It does not exist: created.
    Create,
    /// It exists: the draft goes after its last byte.
    Append,
    /// It exists and `--force` was given: the draft replaces it.
    Replace,
}

/// One file of the plan on disk.
#[derive(Debug, Clone)]
pub struct Target {
    /// Which document.
    pub document: Document,
    /// Its path.
    pub path: PathBuf,
    /// Its path as shown (relative to the repository root).
    pub shown: String,
    /// Its text now (`None`: it does not exist).
    pub current: Option<String>,
}

/// A file's new text.
#[derive(Debug, Clone)]
pub struct Composed {
    /// What happens to it.
    pub action: Action,
    /// The whole new text.
    pub text: String,
    /// Lines of the new text before the draft's first line.
    pub offset: usize,
}

impl Target {
    /// The target for `document` at `path` (shown as `shown`), read now.
    pub fn read(document: Document, path: PathBuf, shown: String) -> Result<Target, PlanError> {
        let current = read_current(&path, &shown)?;
        Ok(Target {
            document,
            path,
            shown,
            current,
        })
    }

    /// Reads the file again (before writing: someone may have changed it meanwhile).
    pub fn reread(&self) -> Result<Target, PlanError> {
        Target::read(self.document, self.path.clone(), self.shown.clone())
    }

    /// What happens to it with or without `--force`.
    pub fn action(&self, force: bool) -> Action {
        match &self.current {
            None => Action::Create,
            Some(_) if force => Action::Replace,
            Some(_) => Action::Append,
        }
    }

    /// Its new text with `draft` (which ends with a newline).
    pub fn compose(&self, draft: &str, force: bool) -> Composed {
        let action = self.action(force);
        let mut text = String::new();
        if action == Action::Append
            && let Some(current) = &self.current
        {
            text.push_str(current);
            if !current.is_empty() && !current.ends_with('\n') {
                text.push('\n');
            }
            if !text.is_empty() {
                text.push('\n');
            }
        }
        let offset = text.matches('\n').count();
        text.push_str(draft);
        if !text.ends_with('\n') {
            text.push('\n');
        }
        Composed {
            action,
            text,
            offset,
        }
    }
}

/// The current text of a file, `None` when there is none. A symbolic link, a directory, a
/// device, a file over [`MAX_FILE_BYTES`] or one that is not UTF-8 is refused.
fn read_current(path: &Path, shown: &str) -> Result<Option<String>, PlanError> {
    let metadata = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(PlanError::io(path, source)),
    };
    let refuse = |why: &str| Err(PlanError::BadTarget(format!("{shown}: {why}")));
    if metadata.file_type().is_symlink() {
        return refuse(
            "is a symbolic link; engine plan writes regular files only (give the real path \
             with --out)",
        );
    }
    if !metadata.is_file() {
        return refuse("is not a regular file");
    }
    if metadata.len() > MAX_FILE_BYTES {
        return refuse(&format!(
            "is {} bytes; the limit is {MAX_FILE_BYTES}",
            metadata.len()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| PlanError::io(path, e))?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Some(text)),
        Err(_) => refuse("is not UTF-8 text"),
    }
}

/// Writes `text` to `path` atomically: a temporary file beside it (created exclusively), fsync,
/// rename over `path`, fsync of the directory. A crash leaves the old file or the new one,
/// never a mix (at worst a stray `.engine-plan-*.tmp` file).
pub fn write_atomic(path: &Path, text: &str) -> Result<(), PlanError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| PlanError::io(dir, e))?;
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    sweep_stale_temps(dir, &name);
    let temp = dir.join(format!(
        ".{name}.engine-plan-{}-{}.tmp",
        std::process::id(),
        ulid::Ulid::new()
    ));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| PlanError::io(&temp, e))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| PlanError::io(&temp, e))?;
        crate::driver::debug_hold::at("plan-write");
        std::fs::rename(&temp, path).map_err(|e| PlanError::io(path, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result?;
    if let Ok(handle) = std::fs::File::open(dir) {
        // Makes the rename durable; a filesystem that cannot sync a directory still renamed.
        let _ = handle.sync_all();
    }
    Ok(())
}

/// Removes the temporary files of [`write_atomic`] for `name` in `dir` that an `engine plan`
/// killed before its rename left behind: those whose process (the pid in the name) is gone. A
/// file of a plan still running, or of a pid now reused, is left alone.
fn sweep_stale_temps(dir: &Path, name: &str) {
    let prefix = format!(".{name}.engine-plan-");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(rest) = file
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .and_then(|r| r.strip_suffix(".tmp"))
        else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|pid| pid > 0 && !process_exists(pid)) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether a process with this pid exists (possibly another user's).
fn process_exists(pid: i32) -> bool {
    // SAFETY: signal 0 sends nothing; kill only checks that the process exists and may be
    // signalled. It reads no memory of ours.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(current: Option<&str>) -> Target {
        Target {
            document: Document::Tasks,
            path: PathBuf::from("spec/tasks.md"),
            shown: "spec/tasks.md".into(),
            current: current.map(str::to_string),
        }
    }

    #[test]
    fn appending_keeps_every_existing_byte_and_counts_the_lines_before_the_draft() {
        let c = target(Some("## M\n### TASK-1: A")).compose("### TASK-2: B\n", false);
        assert_eq!(c.action, Action::Append);
        assert_eq!(c.text, "## M\n### TASK-1: A\n\n### TASK-2: B\n");
        assert!(c.text.starts_with("## M\n### TASK-1: A"));
        assert_eq!(c.offset, 3);
        let c = target(Some("")).compose("### TASK-2: B", false);
        assert_eq!((c.text.as_str(), c.offset), ("### TASK-2: B\n", 0));
    }

    #[test]
    fn force_replaces_and_a_missing_file_is_created() {
        let c = target(Some("old\n")).compose("new\n", true);
        assert_eq!(
            (c.action, c.text.as_str(), c.offset),
            (Action::Replace, "new\n", 0)
        );
        let c = target(None).compose("new\n", false);
        assert_eq!(c.action, Action::Create);
    }

    #[test]
    fn links_directories_and_binary_files_are_refused_and_writes_are_whole() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.md");
        std::fs::write(&real, "x\n").unwrap();
        let link = dir.path().join("link.md");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let e = Target::read(Document::Tasks, link, "link.md".into()).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        let e = Target::read(Document::Tasks, dir.path().into(), "d".into()).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        std::fs::write(&real, [0xff, 0xfe]).unwrap();
        let e = Target::read(Document::Tasks, real.clone(), "real.md".into()).unwrap_err();
        assert!(e.to_string().contains("UTF-8"), "{e}");
        let missing = Target::read(Document::Tasks, dir.path().join("no.md"), "no".into());
        assert!(missing.unwrap().current.is_none());

        let out = dir.path().join("spec/tasks.md");
        write_atomic(&out, "new text\n").unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "new text\n");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("spec"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["tasks.md"], "no temporary file is left");
    }
}
