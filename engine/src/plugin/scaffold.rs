//! `engine plugin new`: a plugin project that builds out of the box against this engine.
//!
//! The project is the template `plugins/templates/<lang>/<kind>/` (embedded in the engine at
//! build time) with `{{name}}`, `{{snake_name}}`, `{{engine_version}}` and `{{project_path}}`
//! replaced in file names and contents, plus `.engine/` ([`refresh_engine_dir`]: this engine's
//! WIT and the language's SDK). A Rust project also gets a `Cargo.lock` with the versions the
//! engine's own stages are built with. The project is written in a hidden directory beside its
//! place and renamed into place when complete, so a failure never leaves half a project.

mod embedded;
mod engine_dir;
mod lockfile;
mod name;
mod standalone;

use std::path::{Path, PathBuf};

pub use engine_dir::{ENGINE_DIR, refresh as refresh_engine_dir};
pub use name::{snake as snake_name, validate as validate_name};

use crate::plugin::build::{Kind, Lang};

/// Why a project could not be created (or its `.engine/` written).
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// The name is not a kebab-case plugin name (the message says why).
    #[error("{0}")]
    InvalidName(String),
    /// The project's directory exists and holds something.
    #[error(
        "{} already exists and is not empty: choose another name, another --dir, or remove it",
        path.display()
    )]
    Exists {
        /// The directory.
        path: PathBuf,
    },
    /// This engine carries no template for the language and kind.
    #[error("this engine has no template for a {lang} {kind}{}", available_hint(.available))]
    NoTemplate {
        /// The language asked for.
        lang: &'static str,
        /// `stage` or `task source`.
        kind: &'static str,
        /// The templates it has (`rust stage`, ...).
        available: Vec<String>,
    },
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// What the engine carries cannot be used (a bug of this engine's build).
    #[error("this engine's embedded plugin files are unusable: {0} (a bug in engine)")]
    Embedded(String),
}

fn available_hint(available: &[String]) -> String {
    if available.is_empty() {
        String::new()
    } else {
        format!(" (it has: {})", available.join(", "))
    }
}

/// What to create.
#[derive(Debug, Clone)]
pub struct NewProject<'a> {
    /// The plugin's kebab-case name; also the project directory's name.
    pub name: &'a str,
    /// The language.
    pub lang: Lang,
    /// Stage or task source.
    pub kind: Kind,
    /// The directory the project directory is created in.
    pub parent: &'a Path,
}

/// A project that was created.
#[derive(Debug, Clone)]
pub struct Created {
    /// The plugin's name.
    pub name: String,
    /// Stage or task source.
    pub kind: Kind,
    /// The language.
    pub lang: Lang,
    /// The project directory.
    pub dir: PathBuf,
    /// The files written (outside `.engine/`), relative to it, sorted.
    pub files: Vec<String>,
    /// The root of the git repository holding the project, if any.
    pub repo_root: Option<PathBuf>,
}

impl Created {
    /// The commands that take the project from here to a running plugin, one per line;
    /// `shown_dir` is how the user names the project directory (`hello`, `plugins/hello`).
    pub fn next_steps(&self, shown_dir: &str) -> Vec<String> {
        let mut steps = vec![format!(
            "cd {} && engine plugin build",
            shell_word(shown_dir)
        )];
        if self.repo_root.is_none() {
            steps.push(
                "git init -q && git add -A && git commit -qm init   # engine runs in a git \
                 repository"
                    .to_string(),
            );
        }
        match self.kind {
            Kind::Stage => steps.push(format!(
                "engine run workflow.yaml --task \"Try the {} stage\"",
                self.name
            )),
            Kind::Source => {
                steps.push("engine tasks workflow.yaml".to_string());
                steps.push("engine run workflow.yaml".to_string());
            }
        }
        steps
    }
}

/// `word` quoted for a POSIX shell when it needs to be.
fn shell_word(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Creates the project `new.parent/new.name` from the template of its language and kind.
pub fn create(new: &NewProject<'_>) -> Result<Created, ScaffoldError> {
    validate_name(new.name).map_err(ScaffoldError::InvalidName)?;
    let template = template(embedded::FILES, new.lang, new.kind)?;
    let dir = new.parent.join(new.name);
    if !is_absent_or_empty(&dir)? {
        return Err(ScaffoldError::Exists { path: dir });
    }
    std::fs::create_dir_all(new.parent).map_err(|source| io(new.parent, source))?;
    let repo_root = repo_root_of(new.parent);
    let project_path = project_path(&dir, repo_root.as_deref());
    let staging = new
        .parent
        .join(format!(".{}.new-{}", new.name, std::process::id()));
    remove_dir(&staging)?;
    let written = write_project(new, &template, &project_path, &staging).and_then(|files| {
        refresh_engine_dir(&staging, new.lang)?;
        // Renaming onto an empty directory replaces it; onto anything else it fails.
        std::fs::rename(&staging, &dir).map_err(|source| {
            if is_absent_or_empty(&dir).unwrap_or(true) {
                io(&dir, source)
            } else {
                ScaffoldError::Exists { path: dir.clone() }
            }
        })?;
        Ok(files)
    });
    match written {
        Ok(files) => Ok(Created {
            name: new.name.to_string(),
            kind: new.kind,
            lang: new.lang,
            dir,
            files,
            repo_root,
        }),
        Err(e) => {
            // Best effort: the next attempt removes it too.
            let _ = std::fs::remove_dir_all(&staging);
            Err(e)
        }
    }
}

/// Writes the template's files, substituted, into `staging`; returns their relative paths.
fn write_project(
    new: &NewProject<'_>,
    template: &[embedded::Entry],
    project_path: &str,
    staging: &Path,
) -> Result<Vec<String>, ScaffoldError> {
    let snake = snake_name(new.name);
    let substitute = |text: &str| {
        text.replace("{{name}}", new.name)
            .replace("{{snake_name}}", &snake)
            .replace("{{engine_version}}", env!("CARGO_PKG_VERSION"))
            .replace("{{project_path}}", project_path)
    };
    let mut files = Vec::new();
    for entry in template {
        let rel = substitute(entry.path);
        let bytes = match std::str::from_utf8(entry.bytes) {
            Ok(text) => substitute(text).into_bytes(),
            Err(_) => entry.bytes.to_vec(),
        };
        write_file(&staging.join(&rel), &bytes)?;
        files.push(rel);
    }
    if new.lang == Lang::Rust
        && !files.iter().any(|f| f == "Cargo.lock")
        && let Some(lock) = rust_lock(&staging.join("Cargo.toml"))
    {
        write_file(&staging.join("Cargo.lock"), lock.as_bytes())?;
        files.push("Cargo.lock".into());
    }
    files.sort();
    Ok(files)
}

/// The `Cargo.lock` of a new Rust project, from the plugins workspace's lock.
fn rust_lock(manifest: &Path) -> Option<String> {
    let manifest = std::fs::read_to_string(manifest).ok()?;
    let root = lockfile::Root::from_manifest(&manifest)?;
    let workspace_lock = String::from_utf8_lossy(embedded::file("plugins/Cargo.lock")?);
    lockfile::for_project(&workspace_lock, &root)
}

/// The files of the template for `lang` and `kind` in `table`.
fn template(
    table: &'static [(&'static str, &'static [u8])],
    lang: Lang,
    kind: Kind,
) -> Result<Vec<embedded::Entry>, ScaffoldError> {
    let files = embedded::tree_in(
        table,
        &format!("templates/{}/{}", lang.name(), kind.world()),
    );
    if files.is_empty() {
        return Err(ScaffoldError::NoTemplate {
            lang: lang.name(),
            kind: kind.noun(),
            available: available_templates(table),
        });
    }
    Ok(files)
}

/// `lang kind` of every template in `table`, sorted (`js stage`, `rust task source`...).
fn available_templates(table: &'static [(&'static str, &'static [u8])]) -> Vec<String> {
    let mut found: Vec<String> = embedded::tree_in(table, "templates")
        .iter()
        .filter_map(|e| {
            let mut parts = e.path.splitn(3, '/');
            let (lang, kind) = (parts.next()?, parts.next()?);
            let kind = Kind::from_name(kind)?.noun();
            Some(format!("{lang} {kind}"))
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

/// The project's directory relative to the repository's root (`tools/hello`), or `.` when it
/// is the root or not in a repository: what a task source's `path` is relative to.
fn project_path(dir: &Path, repo_root: Option<&Path>) -> String {
    let absolute = absolute(dir);
    repo_root
        .and_then(|root| absolute.strip_prefix(root).ok())
        .map(|rel| rel.to_string_lossy().into_owned())
        .filter(|rel| !rel.is_empty())
        .unwrap_or_else(|| ".".into())
}

/// The nearest directory at or above `dir` holding `.git`.
fn repo_root_of(dir: &Path) -> Option<PathBuf> {
    let start = absolute(dir);
    start
        .ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

fn absolute(dir: &Path) -> PathBuf {
    std::fs::canonicalize(dir)
        .or_else(|_| std::path::absolute(dir))
        .unwrap_or_else(|_| dir.to_path_buf())
}

fn is_absent_or_empty(dir: &Path) -> Result<bool, ScaffoldError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        // A file of that name, or a directory that cannot be listed.
        Err(_) if dir.exists() => Ok(false),
        Err(source) => Err(io(dir, source)),
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ScaffoldError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| io(parent, source))?;
    }
    std::fs::write(path, bytes).map_err(|source| io(path, source))
}

fn remove_dir(dir: &Path) -> Result<(), ScaffoldError> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(dir, e)),
        _ => Ok(()),
    }
}

fn io(path: &Path, source: std::io::Error) -> ScaffoldError {
    ScaffoldError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests;
