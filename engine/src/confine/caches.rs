//! Build caches kept across runs (the workflow's `caches:`): where their directories are, and
//! what one attempt's processes get of them — environment variables naming `env:` caches,
//! writable binds of the directories, and mounts of `path:` caches inside the worktree.
//!
//! Each repository has its own caches, `<state>/caches/<repository>-<hash>/<name>`, the hash
//! taken from the repository's git directory, so two repositories sharing a state directory
//! (`--state-dir`) never share a cache.

use std::path::{Component, Path, PathBuf};

use engine_git::Repo;
use engine_workflow::{CacheMount, CacheSettings};
use sha2::{Digest, Sha256};

use super::SandboxError;

/// The directory holding every cache of a state directory.
pub fn caches_root(state_dir: &Path) -> PathBuf {
    state_dir.join("caches")
}

/// The directory of `repo`'s caches: `<state>/caches/<repository name>-<8 hex digits>`.
pub fn repository_dir(state_dir: &Path, repo: &Repo) -> Result<PathBuf, SandboxError> {
    let common = repo.git_common_dir()?;
    let common = common.canonicalize().unwrap_or(common);
    let digest = Sha256::digest(common.as_os_str().as_encoded_bytes());
    let name: String = repo
        .root()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = name.trim_start_matches('.');
    Ok(caches_root(state_dir).join(format!(
        "{}-{}",
        if name.is_empty() { "repo" } else { name },
        hex::encode(&digest[..4])
    )))
}

/// What one attempt's processes get of the caches granted to its stage.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StageCaches {
    /// `env:` caches: the variable and the cache directory it names.
    pub env: Vec<(String, String)>,
    /// The directories of `env:` caches (writable in place in the sandbox).
    pub dirs: Vec<PathBuf>,
    /// `path:` caches: the cache directory and where in the worktree it is mounted.
    pub mounts: Vec<(PathBuf, PathBuf)>,
}

/// Where an attempt's caches come from.
#[derive(Debug, Clone, Copy)]
pub struct CacheSite<'a> {
    /// The workflow's `caches:`.
    pub settings: &'a CacheSettings,
    /// The stage.
    pub stage_id: &'a str,
    /// Whether the stage may start processes (`exec` or `agent`).
    pub starts_processes: bool,
    /// The engine's state directory.
    pub state_dir: &'a Path,
    /// The repository.
    pub repo: &'a Repo,
    /// The run's worktree, when it has one.
    pub worktree: Option<&'a Path>,
    /// Whether the attempt runs confined (`path:` caches need the sandbox to mount them).
    pub confined: bool,
}

impl StageCaches {
    /// Creates the directories of the caches the stage gets (and the mount points of its
    /// `path:` caches in the worktree) and says how its processes reach them.
    pub fn prepare(site: CacheSite<'_>) -> Result<StageCaches, SandboxError> {
        let mut out = StageCaches::default();
        let mut granted = site
            .settings
            .for_stage(site.stage_id, site.starts_processes)
            .peekable();
        if granted.peek().is_none() {
            return Ok(out);
        }
        let base = repository_dir(site.state_dir, site.repo)?;
        for cache in granted {
            let dir = base.join(&cache.name);
            std::fs::create_dir_all(&dir).map_err(|source| SandboxError::CacheDir {
                name: cache.name.clone(),
                path: dir.clone(),
                source,
            })?;
            match &cache.mount {
                CacheMount::Env(var) => {
                    out.env.push((var.clone(), dir.display().to_string()));
                    out.dirs.push(dir);
                }
                CacheMount::Path(rel) => {
                    if !site.confined {
                        return Err(SandboxError::CacheNeedsSandbox(cache.name.clone()));
                    }
                    // A run without a worktree has nowhere to mount it.
                    let Some(worktree) = site.worktree else {
                        continue;
                    };
                    let at = mount_point(worktree, rel).map_err(|why| {
                        SandboxError::CacheMountPoint {
                            name: cache.name.clone(),
                            path: worktree.join(rel),
                            why,
                        }
                    })?;
                    out.mounts.push((dir, at));
                }
            }
        }
        Ok(out)
    }
}

/// Makes `worktree/rel` an empty directory to mount a cache on, creating what is missing
/// without following a symbolic link a stage may have left there. A directory with files in
/// it (tracked by git, or written by the stage) is refused: the mount would hide them.
fn mount_point(worktree: &Path, rel: &str) -> Result<PathBuf, String> {
    let mut at = worktree.to_path_buf();
    for part in Path::new(rel).components() {
        let Component::Normal(part) = part else {
            return Err("not a plain relative path".to_string());
        };
        at.push(part);
        match at.symlink_metadata() {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(format!("{} is a symbolic link", at.display()));
            }
            Ok(meta) if !meta.is_dir() => {
                return Err(format!("{} is not a directory", at.display()));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir(&at).map_err(|e| format!("cannot create it: {e}"))?;
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    let mut entries = std::fs::read_dir(&at).map_err(|e| e.to_string())?;
    if entries.next().is_some() {
        return Err(
            "it holds files the mount would hide (is it tracked by git? a `path:` cache must be \
             a directory the repository ignores)"
                .to_string(),
        );
    }
    Ok(at)
}

/// Removes every cache of the state directory; the removed directories, or why one could not be.
pub fn clear(state_dir: &Path, dry_run: bool) -> Vec<(PathBuf, Result<(), String>)> {
    let root = caches_root(state_dir);
    let Ok(repos) = std::fs::read_dir(&root) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = repos
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.symlink_metadata().is_ok_and(|m| m.is_dir()))
        .flat_map(|repo| {
            std::fs::read_dir(&repo)
                .into_iter()
                .flatten()
                .filter_map(Result::ok)
                .map(|e| e.path())
                .collect::<Vec<_>>()
        })
        .collect();
    dirs.sort();
    dirs.into_iter()
        .map(|dir| {
            let result = if dry_run {
                Ok(())
            } else {
                remove(&dir).map_err(|e| format!("removing {}: {e}", dir.display()))
            };
            (dir, result)
        })
        .collect()
}

/// Removes a cache directory (or a stray file in its place), without following links.
fn remove(path: &Path) -> std::io::Result<()> {
    if path.symlink_metadata()?.is_dir() {
        std::fs::remove_dir_all(path)?;
    } else {
        std::fs::remove_file(path)?;
    }
    // The repository's directory goes once it is empty.
    if let Some(parent) = path.parent() {
        let _ = std::fs::remove_dir(parent);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mount_point_is_made_and_checked_without_following_links() {
        let dir = tempfile::tempdir().unwrap();
        let worktree = dir.path();
        let at = mount_point(worktree, "web/node_modules").unwrap();
        assert!(at.is_dir());
        // Empty: taken again.
        assert_eq!(mount_point(worktree, "web/node_modules").unwrap(), at);
        std::fs::write(at.join("tracked.js"), "x").unwrap();
        let why = mount_point(worktree, "web/node_modules").unwrap_err();
        assert!(why.contains("holds files"), "{why}");
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), worktree.join("linked")).unwrap();
        let why = mount_point(worktree, "linked/node_modules").unwrap_err();
        assert!(why.contains("symbolic link"), "{why}");
        assert!(!outside.path().join("node_modules").exists());
        std::fs::write(worktree.join("file"), "x").unwrap();
        assert!(mount_point(worktree, "file").is_err());
    }

    #[test]
    fn clear_removes_every_cache_and_reports_it() {
        let state = tempfile::tempdir().unwrap();
        let one = caches_root(state.path()).join("repo-00000000/target");
        std::fs::create_dir_all(one.join("debug")).unwrap();
        std::fs::write(one.join("debug/x"), "x").unwrap();
        let dry = clear(state.path(), true);
        assert_eq!(dry.len(), 1);
        assert!(one.exists());
        let done = clear(state.path(), false);
        assert_eq!(done, vec![(one.clone(), Ok(()))]);
        assert!(!one.exists());
        assert!(clear(state.path(), false).is_empty());
    }
}
