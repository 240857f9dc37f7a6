//! `engine gc`: remove what finished runs left behind — their worktrees (kept on failure, or
//! left by a crash), directories under `<state>/worktrees/` that belong to no run, and with
//! `--branches` their branches once fully merged into their base, and with `--caches` the build
//! caches of the workflow's `caches:` (a cache a hostile run may have poisoned is cleared this way).
//!
//! Never touches a run that has not finished (pending or running: `engine resume` continues
//! those in their worktrees), and never races a running engine: it takes the state
//! directory's lock, which a running engine holds (then it exits 5, like other commands).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use engine_git::{GitError, Repo};
use engine_store::{RunRecord, StateDir, Store};
use serde_json::{Value, json};

use crate::project::Project;
use crate::{EngineError, exit};

/// Arguments of `engine gc`.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// Only print what would be removed.
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON (an array of what was removed, would be removed, kept or failed).
    #[arg(long)]
    pub json: bool,
    /// Also delete the branches of finished runs whose work is fully in their base branch
    /// (merged, fast-forwarded, squashed or rebased).
    #[arg(long)]
    pub branches: bool,
    /// Also remove the build caches (the workflow's `caches:`) of every repository using this
    /// state directory; the next run builds from nothing.
    #[arg(long)]
    pub caches: bool,
}

/// What happened to one thing gc looked at.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// Removed (or deleted, or forgotten).
    Done,
    /// `--dry-run`: would have been.
    WouldDo,
    /// Left alone on purpose, with why.
    Kept(String),
    /// Removing it failed.
    Failed(String),
}

/// One line of the report.
#[derive(Debug)]
struct Item {
    /// `worktree`, `stale-record` (a run still records a worktree that is gone), `leftover`
    /// (a directory under `<state>/worktrees/` of no run), `branch` or `cache`.
    kind: &'static str,
    run_id: Option<String>,
    status: Option<&'static str>,
    path: Option<PathBuf>,
    branch: Option<String>,
    outcome: Outcome,
}

pub(super) fn execute(args: &GcArgs, state_dir: Option<&Path>) -> Result<u8, EngineError> {
    let dir = Project::state_dir_for_reading(state_dir)?;
    if !dir.exists() {
        report(args, &[])?;
        return Ok(exit::SUCCESS);
    }
    let holder = format!("engine gc (pid {})", std::process::id());
    let state = StateDir::open_locked(&dir, &holder)?;
    let records = state.store().list()?;
    let mut gc = Gc {
        dry_run: args.dry_run,
        state: &state,
        records: &records,
        repos: HashMap::new(),
        items: Vec::new(),
    };
    for record in records.iter().filter(|r| r.state.status.is_terminal()) {
        gc.run_worktrees(record)?;
        if args.branches {
            gc.run_branch(record);
        }
    }
    gc.leftovers();
    if args.caches {
        // The lock is held: no run of this state directory is using a cache now.
        for (path, result) in crate::confine::caches::clear(&dir, args.dry_run) {
            gc.items.push(Item {
                kind: "cache",
                run_id: None,
                status: None,
                path: Some(path),
                branch: None,
                outcome: match result {
                    Ok(()) if args.dry_run => Outcome::WouldDo,
                    Ok(()) => Outcome::Done,
                    Err(why) => Outcome::Failed(why),
                },
            });
        }
    }
    report(args, &gc.items)?;
    let failed = gc
        .items
        .iter()
        .any(|i| matches!(i.outcome, Outcome::Failed(_)));
    Ok(if failed {
        exit::INTERNAL
    } else {
        exit::SUCCESS
    })
}

struct Gc<'a> {
    dry_run: bool,
    state: &'a StateDir,
    records: &'a [RunRecord],
    repos: HashMap<PathBuf, Result<Repo, Arc<GitError>>>,
    items: Vec<Item>,
}

impl Gc<'_> {
    /// The worktrees of a finished run: the one its record names and `<state>/worktrees/<id>`.
    fn run_worktrees(&mut self, record: &RunRecord) -> Result<(), EngineError> {
        let meta = &record.meta;
        let mut paths: Vec<PathBuf> = meta.worktree.iter().cloned().collect();
        let default = self.state.worktrees_dir().join(&meta.run_id);
        if exists(&default) && !paths.iter().any(|p| same_path(p, &default)) {
            paths.push(default);
        }
        for path in paths {
            let recorded = meta.worktree.as_ref().is_some_and(|w| same_path(w, &path));
            let mut item = Item {
                kind: "worktree",
                run_id: Some(meta.run_id.clone()),
                status: Some(record.state.status.name()),
                path: Some(path.clone()),
                branch: None,
                outcome: Outcome::Done,
            };
            if let Some(reason) = self.protected(&path) {
                item.outcome = Outcome::Kept(reason);
                self.items.push(item);
                continue;
            }
            let repo = match self.repo(&meta.repo_root) {
                Ok(repo) => repo,
                Err(e) => {
                    item.outcome = Outcome::Failed(e.to_string());
                    self.items.push(item);
                    continue;
                }
            };
            let registered = repo.worktree_at(&path).map(|w| w.is_some());
            let registered = match registered {
                Ok(registered) => registered,
                Err(e) => {
                    item.outcome = Outcome::Failed(e.to_string());
                    self.items.push(item);
                    continue;
                }
            };
            if !exists(&path) && !registered {
                if !recorded {
                    continue;
                }
                item.kind = "stale-record";
            }
            item.outcome = if self.dry_run {
                Outcome::WouldDo
            } else {
                self.remove(&repo, &path, registered)
            };
            if item.outcome == Outcome::Done && recorded {
                let mut updated = meta.clone();
                updated.worktree = None;
                self.state.store().update_meta(&updated)?;
            }
            self.items.push(item);
        }
        Ok(())
    }

    /// Removes a finished run's worktree: through git when registered (in the run's
    /// repository or another), as a plain directory when it is an unregistered leftover inside
    /// `<state>/worktrees/`; anything else is left alone.
    fn remove(&self, repo: &Repo, path: &Path, registered: bool) -> Outcome {
        let removed = |result: Result<bool, engine_git::GitError>| match result {
            Ok(_) => Outcome::Done,
            Err(e) => Outcome::Failed(e.to_string()),
        };
        if registered || !exists(path) {
            return removed(repo.remove_run_worktree(path));
        }
        match Repo::owner_of_worktree(path) {
            Ok(Some(owner)) => return removed(owner.remove_run_worktree(path)),
            Ok(None) => {}
            Err(e) => return Outcome::Failed(e.to_string()),
        }
        if path.starts_with(self.state.worktrees_dir()) {
            return remove_leftover(path);
        }
        Outcome::Kept(format!(
            "not a worktree of {}; engine did not create it, left alone",
            repo.root().display()
        ))
    }

    /// With `--branches`: deletes a finished run's branch if its work is in its base.
    fn run_branch(&mut self, record: &RunRecord) {
        let meta = &record.meta;
        let in_use = self
            .records
            .iter()
            .any(|r| !r.state.status.is_terminal() && r.meta.branch == meta.branch);
        if in_use || meta.branch.is_empty() {
            return;
        }
        let Ok(repo) = self.repo(&meta.repo_root) else {
            return;
        };
        let outcome = match branch_outcome(&repo, &meta.branch, &meta.base_branch, self.dry_run) {
            Ok(Some(outcome)) => outcome,
            Ok(None) => return,
            Err(e) => Outcome::Failed(e.to_string()),
        };
        self.items.push(Item {
            kind: "branch",
            run_id: Some(meta.run_id.clone()),
            status: Some(record.state.status.name()),
            path: None,
            branch: Some(meta.branch.clone()),
            outcome,
        });
    }

    /// Directories under `<state>/worktrees/` that belong to no run (a crash between creating a
    /// worktree and recording the run) or only to finished runs (e.g. `<run-id>-scratch`).
    fn leftovers(&mut self) {
        // The worktrees removed above are still being deleted in the background (renamed to
        // `.<run-id>.engine-removing`): they are not leftovers.
        engine_git::wait_for_removals();
        let Ok(entries) = std::fs::read_dir(self.state.worktrees_dir()) else {
            return;
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.symlink_metadata().is_ok_and(|m| m.is_dir()))
            .collect();
        paths.sort();
        for path in paths {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            // A run's own directory was handled (or protected) with the run.
            if self.records.iter().any(|r| r.meta.run_id == name) {
                continue;
            }
            if self.protected(&path).is_some() {
                continue;
            }
            let owner = self
                .records
                .iter()
                .find(|r| name.starts_with(r.meta.run_id.as_str()));
            let outcome = if self.dry_run {
                Outcome::WouldDo
            } else {
                match Repo::owner_of_worktree(&path) {
                    Ok(Some(repo)) => match repo.remove_run_worktree(&path) {
                        Ok(_) => Outcome::Done,
                        Err(e) => Outcome::Failed(e.to_string()),
                    },
                    Ok(None) => remove_leftover(&path),
                    Err(e) => Outcome::Failed(e.to_string()),
                }
            };
            self.items.push(Item {
                kind: "leftover",
                run_id: owner.map(|r| r.meta.run_id.clone()),
                status: owner.map(|r| r.state.status.name()),
                path: Some(path),
                branch: None,
                outcome,
            });
        }
    }

    /// Why `path` must not be touched: it is (or is inside, or holds) the worktree of an
    /// unfinished run, or is named after one.
    fn protected(&self, path: &Path) -> Option<String> {
        let worktrees = self.state.worktrees_dir();
        let name = path
            .strip_prefix(&worktrees)
            .ok()
            .and_then(|rel| rel.components().next())
            .map(|c| c.as_os_str().to_string_lossy().into_owned());
        self.records
            .iter()
            .filter(|r| !r.state.status.is_terminal())
            .find(|r| {
                let own = worktrees.join(&r.meta.run_id);
                let overlaps =
                    |w: &Path| same_path(w, path) || path.starts_with(w) || w.starts_with(path);
                overlaps(&own)
                    || r.meta.worktree.as_deref().is_some_and(overlaps)
                    || name
                        .as_deref()
                        .is_some_and(|n| n.starts_with(r.meta.run_id.as_str()))
            })
            .map(|r| {
                format!(
                    "belongs to run {} which is {} (resumable)",
                    r.meta.run_id,
                    r.state.status.name()
                )
            })
    }

    /// The repository at `root`, opened once.
    fn repo(&mut self, root: &Path) -> Result<Repo, Arc<GitError>> {
        self.repos
            .entry(root.to_path_buf())
            .or_insert_with(|| Repo::discover(root).map_err(Arc::new))
            .clone()
    }
}

/// Deletes `branch` when all its work is in `base` (or in `origin/<base>`); `None` when the
/// branch no longer exists.
fn branch_outcome(
    repo: &Repo,
    branch: &str,
    base: &str,
    dry_run: bool,
) -> Result<Option<Outcome>, engine_git::GitError> {
    if !repo.branch_exists(branch)? {
        return Ok(None);
    }
    let tip = repo.rev_parse(&format!("refs/heads/{branch}"))?;
    let remote = format!("refs/remotes/origin/{base}");
    let mut targets = Vec::new();
    if repo.rev_parse(base).is_ok() {
        targets.push(base.to_string());
    }
    if repo.rev_parse(&remote).is_ok() {
        targets.push(remote);
    }
    for target in &targets {
        if repo.is_merged_into(&tip, target)? {
            if dry_run {
                return Ok(Some(Outcome::WouldDo));
            }
            repo.delete_branch_at(branch, &tip)?;
            return Ok(Some(Outcome::Done));
        }
    }
    Ok(Some(Outcome::Kept(if targets.is_empty() {
        format!("its base {base} no longer exists")
    } else {
        format!("not merged into {base}")
    })))
}

/// Removes a directory under `<state>/worktrees/` that git does not know as a worktree.
fn remove_leftover(path: &Path) -> Outcome {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Outcome::Done,
        // Deleted meanwhile (another engine finishing a removal): gone is what was wanted.
        Err(_) if !exists(path) => Outcome::Done,
        Err(e) => Outcome::Failed(format!("removing {}: {e}", path.display())),
    }
}

fn exists(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
}

fn same_path(a: &Path, b: &Path) -> bool {
    let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    a == b || canonical(a) == canonical(b)
}

fn report(args: &GcArgs, items: &[Item]) -> Result<(), EngineError> {
    if args.json {
        let rows: Vec<Value> = items.iter().map(item_json).collect();
        return super::print_json(&rows);
    }
    if items.is_empty() {
        eprintln!("nothing to clean up");
    }
    for item in items {
        println!("{}", item_line(item));
    }
    Ok(())
}

fn item_json(item: &Item) -> Value {
    let (action, detail) = match &item.outcome {
        Outcome::Done if item.kind == "branch" => ("deleted", None),
        Outcome::WouldDo if item.kind == "branch" => ("would_delete", None),
        Outcome::Done if item.kind == "stale-record" => ("forgotten", None),
        Outcome::WouldDo if item.kind == "stale-record" => ("would_forget", None),
        Outcome::Done => ("removed", None),
        Outcome::WouldDo => ("would_remove", None),
        Outcome::Kept(why) => ("kept", Some(why.clone())),
        Outcome::Failed(why) => ("failed", Some(why.clone())),
    };
    json!({
        "kind": item.kind,
        "action": action,
        "run_id": item.run_id,
        "status": item.status,
        "path": item.path,
        "branch": item.branch,
        "detail": detail,
    })
}

fn item_line(item: &Item) -> String {
    let what = match (item.kind, &item.path, &item.branch) {
        ("branch", _, Some(branch)) => format!("branch {branch}"),
        ("stale-record", Some(path), _) => format!("record of worktree {}", path.display()),
        ("leftover", Some(path), _) => format!("leftover {}", path.display()),
        ("cache", Some(path), _) => format!("cache {}", path.display()),
        (_, Some(path), _) => format!("worktree {}", path.display()),
        _ => item.kind.to_string(),
    };
    let run = match (&item.run_id, item.status) {
        (Some(id), Some(status)) => format!(" (run {id}, {status})"),
        _ if item.kind == "cache" => String::new(),
        _ => " (no run)".to_string(),
    };
    let (done, would) = match item.kind {
        "branch" => ("deleted", "would delete"),
        "stale-record" => ("forgot", "would forget"),
        _ => ("removed", "would remove"),
    };
    match &item.outcome {
        Outcome::Done => format!("{done} {what}{run}"),
        Outcome::WouldDo => format!("{would} {what}{run}"),
        Outcome::Kept(why) => format!("kept {what}{run}: {why}"),
        Outcome::Failed(why) => format!("failed to clean {what}{run}: {why}"),
    }
}
