//! The confinement of one stage attempt: the [`engine_confine::Policy`] built from the workflow's
//! `sandbox:` settings and the run's facts, the run branch's private ref directory (so the
//! attempt's processes can commit to the run branch and to nothing else), the build caches its
//! stage is granted (`caches`), and, with confinement off, the check that nothing outside the run
//! moved.

pub mod caches;
mod error;
pub mod paths;
mod refs;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine_confine::{Limits, Network, Overlay, Policy, Sandbox};
use engine_git::{Repo, RepoSnapshot};
use engine_store::RunMeta;
use engine_workflow::{CacheSettings, NetworkGrant, RepositoryAccess, SandboxSettings};

use caches::{CacheSite, StageCaches};
pub use error::SandboxError;
use refs::PrivateRefs;

/// Where an attempt runs: what [`AttemptSandbox::prepare`] needs.
#[derive(Debug, Clone, Copy)]
pub struct SandboxSite<'a> {
    /// The workflow's settings.
    pub settings: &'a SandboxSettings,
    /// The workflow's build caches (`caches:`).
    pub caches: &'a CacheSettings,
    /// The stage.
    pub stage_id: &'a str,
    /// The attempt.
    pub attempt: u32,
    /// The repository.
    pub repo: &'a Repo,
    /// The run's facts (worktree, branch).
    pub meta: &'a RunMeta,
    /// The engine's state directory (hidden from every process).
    pub state_dir: &'a Path,
    /// The git branch prefix of runs (their branches are skipped by the unconfined check).
    pub branch_prefix: &'a str,
    /// Whether the stage may start processes at all (an `exec` grant or `agent: true`); a stage
    /// that cannot needs no sandbox, and its attempts skip the set-up.
    pub starts_processes: bool,
}

/// The confinement of one attempt, from its start to [`AttemptSandbox::finish`].
#[derive(Debug)]
pub struct AttemptSandbox {
    /// The sandbox every process of the attempt starts in; `None` with `sandbox.enabled:
    /// false`.
    pub sandbox: Option<Arc<Sandbox>>,
    /// The variables naming the `env:` caches the stage is granted, for its programs and agent
    /// CLIs.
    pub cache_env: Vec<(String, String)>,
    /// The attempt's own directory (temp files, private refs): removed at the end.
    dir: PathBuf,
    refs: Option<PrivateRefs>,
    /// Without confinement: what the repository looked like before the attempt.
    unconfined: Option<Unconfined>,
}

/// The second line of defence, for attempts that run unconfined.
#[derive(Debug)]
struct Unconfined {
    repo: Repo,
    before: RepoSnapshot,
    stage: String,
    /// Refs of runs (their own branches move as they work).
    run_refs: String,
    own: String,
}

impl Unconfined {
    fn skip(&self, name: &str) -> bool {
        name == self.own || (self.run_refs != "refs/heads/" && name.starts_with(&self.run_refs))
    }

    fn snapshot(&self) -> Result<RepoSnapshot, SandboxError> {
        Ok(self.repo.snapshot_refs(|name| self.skip(name))?)
    }
}

impl AttemptSandbox {
    /// Builds the attempt's sandbox (or, with confinement off, takes the snapshot the
    /// second-line check compares against). Errors say why the attempt cannot start confined;
    /// the driver records them as the attempt's failure message.
    pub fn prepare(site: SandboxSite<'_>) -> Result<AttemptSandbox, String> {
        Self::set_up(site).map_err(|e| e.to_string())
    }

    fn set_up(site: SandboxSite<'_>) -> Result<AttemptSandbox, SandboxError> {
        let dir = site
            .state_dir
            .join("runs")
            .join(&site.meta.run_id)
            .join("sandbox")
            .join(format!("{}.{}", site.stage_id, site.attempt));
        if !site.starts_processes {
            return Ok(AttemptSandbox {
                sandbox: None,
                cache_env: Vec::new(),
                dir,
                refs: None,
                unconfined: None,
            });
        }
        // A crashed attempt's leftovers (temp files, its private refs) start over.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|source| SandboxError::AttemptDir {
            path: dir.clone(),
            source,
        })?;
        let settings = site.settings;
        let caches = StageCaches::prepare(CacheSite {
            settings: site.caches,
            stage_id: site.stage_id,
            starts_processes: site.starts_processes,
            state_dir: site.state_dir,
            repo: site.repo,
            worktree: site.meta.worktree.as_deref().filter(|w| w.is_dir()),
            confined: settings.enabled,
        })?;
        if !settings.enabled {
            let mut unconfined = Unconfined {
                repo: site.repo.clone(),
                before: RepoSnapshot::default(),
                stage: site.stage_id.to_string(),
                run_refs: format!("refs/heads/{}", site.branch_prefix),
                own: format!("refs/heads/{}", site.meta.branch),
            };
            unconfined.before = unconfined.snapshot()?;
            return Ok(AttemptSandbox {
                sandbox: None,
                cache_env: caches.env,
                dir,
                refs: None,
                unconfined: Some(unconfined),
            });
        }
        let stage = settings.stage(site.stage_id);
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let mut policy = Policy {
            tmp_dir: dir.join("tmp"),
            network: network(stage.network.unwrap_or(settings.network)),
            limits: Limits {
                processes: settings.limits.processes,
                memory_bytes: settings.limits.memory_bytes,
                file_size_bytes: settings.limits.file_size_bytes,
            },
            ..Policy::default()
        };
        policy.hidden.push(site.state_dir.to_path_buf());
        for hidden in &settings.hide {
            policy
                .hidden
                .extend(paths::expand_home(hidden, home.as_deref()));
        }
        if stage.repository != RepositoryAccess::Write
            && let Some(home) = &home
        {
            policy
                .hidden
                .extend(paths::HIDDEN_IN_HOME.iter().map(|p| home.join(p)));
        }
        for granted in settings.write.iter().chain(&stage.write) {
            if let Some(path) = paths::expand_home(granted, home.as_deref())
                && path.exists()
            {
                policy.writable.push(path);
            }
        }
        // The stage's caches: writable in place, `path:` ones mounted in the worktree (the
        // worktree's own bind comes first: mounts are made parents first).
        policy.writable.extend(caches.dirs);
        policy.overlays.extend(
            caches
                .mounts
                .into_iter()
                .map(|(private, at)| Overlay { private, at }),
        );
        let mut refs = None;
        if let Some(worktree) = site.meta.worktree.as_deref().filter(|w| w.is_dir()) {
            policy.writable.push(worktree.to_path_buf());
            let common = site.repo.git_common_dir()?;
            if stage.repository == RepositoryAccess::Write {
                policy.writable.push(site.repo.root().to_path_buf());
                policy.writable.push(common);
            } else {
                // The user's checkout (its untracked `.env` files...) is hidden; its `.git` is
                // shown read-only again, all but the run's own parts.
                let root = site.repo.root();
                let home_inside = home.as_deref().is_some_and(|h| h.starts_with(root));
                if stage.repository == RepositoryAccess::None
                    && root.parent().is_some()
                    && !home_inside
                {
                    policy.hidden.push(root.to_path_buf());
                    policy.read_only.push(common.clone());
                }
                let admin = site.repo.worktree_git_dir(worktree)?;
                policy.writable.push(admin.clone());
                policy.writable.push(common.join("objects"));
                policy.read_only.extend([
                    worktree.join(".git"),
                    admin.join("commondir"),
                    admin.join("gitdir"),
                ]);
                let private = PrivateRefs::prepare(site.repo, &site.meta.branch, &dir)?;
                policy.overlays.extend(private.overlays());
                refs = Some(private);
            }
        }
        let sandbox = Sandbox::new(policy)?;
        Ok(AttemptSandbox {
            sandbox: Some(Arc::new(sandbox)),
            cache_env: caches.env,
            dir,
            refs,
            unconfined: None,
        })
    }

    /// Ends the attempt: moves the run branch to what its processes committed (inside the
    /// sandbox the branch lives in a private directory), or, without confinement, fails when
    /// anything outside the run moved. Removes the attempt's directory. The error is the
    /// attempt's failure message.
    pub fn finish(self) -> Result<(), String> {
        let result = self.finish_checks();
        let _ = std::fs::remove_dir_all(&self.dir);
        result.map_err(|e| e.to_string())
    }

    fn finish_checks(&self) -> Result<(), SandboxError> {
        if let Some(refs) = &self.refs {
            refs.sync_back()?;
        }
        if let Some(unconfined) = &self.unconfined {
            let changes = unconfined.snapshot()?.changes_since(&unconfined.before);
            if !changes.is_empty() {
                return Err(SandboxError::OutsideChanged {
                    stage: unconfined.stage.clone(),
                    changes,
                });
            }
        }
        Ok(())
    }
}

fn network(grant: NetworkGrant) -> Network {
    match grant {
        NetworkGrant::None => Network::None,
        NetworkGrant::Agent => Network::Agent,
        NetworkGrant::All => Network::All,
    }
}

/// Private overlays of the run branch's ref directories.
impl PrivateRefs {
    fn overlays(&self) -> Vec<Overlay> {
        self.mounts()
            .into_iter()
            .map(|(private, at)| Overlay { private, at })
            .collect()
    }
}
