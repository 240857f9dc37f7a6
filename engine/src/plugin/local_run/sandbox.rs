//! The confinement of the programs a local attempt starts: the bubblewrap sandbox of
//! [`engine_confine`], with the policy a run's attempt gets where a local run has the same
//! facts — the default network (programs get none), limits and hidden credentials, the
//! repository's state directory hidden, a private temporary directory — and the workspace
//! writable only when the stage is granted `workspace: write` (a run's worktree is a copy the
//! engine cleans up after a read-only stage; a local workspace is the user's own directory).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine_confine::{Limits, Network, Policy, Sandbox};
use engine_core::WorkspaceAccess;

use super::LocalRunError;
use crate::confine::paths::{HIDDEN_IN_HOME, expand_home};

/// The sandbox of one local attempt and its private directory (removed when dropped).
#[derive(Debug)]
pub(super) struct LocalSandbox {
    /// Where the attempt's programs start; `None` when the stage cannot start any.
    pub(super) sandbox: Option<Arc<Sandbox>>,
    dir: Option<PathBuf>,
}

impl LocalSandbox {
    /// A sandbox for a stage that may start programs (`starts_processes`), nothing otherwise.
    /// Fails closed: no sandbox, no attempt.
    pub(super) fn prepare(
        workspace: &Path,
        access: WorkspaceAccess,
        starts_processes: bool,
        repo_root: Option<&Path>,
    ) -> Result<LocalSandbox, LocalRunError> {
        if !starts_processes {
            return Ok(LocalSandbox {
                sandbox: None,
                dir: None,
            });
        }
        let dir = std::env::temp_dir().join(format!(
            "engine-plugin-run-{}",
            ulid::Ulid::new().to_string().to_lowercase()
        ));
        let mut local = LocalSandbox {
            sandbox: None,
            dir: Some(dir.clone()),
        };
        let settings = engine_workflow::SandboxSettings::default();
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let mut policy = Policy {
            tmp_dir: dir.join("tmp"),
            network: match settings.network {
                engine_workflow::NetworkGrant::None => Network::None,
                engine_workflow::NetworkGrant::Agent => Network::Agent,
                engine_workflow::NetworkGrant::All => Network::All,
            },
            limits: Limits {
                processes: settings.limits.processes,
                memory_bytes: settings.limits.memory_bytes,
                file_size_bytes: settings.limits.file_size_bytes,
            },
            ..Policy::default()
        };
        if let Some(home) = &home {
            policy
                .hidden
                .extend(HIDDEN_IN_HOME.iter().map(|p| home.join(p)));
        }
        for hidden in &settings.hide {
            policy.hidden.extend(expand_home(hidden, home.as_deref()));
        }
        // The engine's state directory (run logs, secrets' redaction lists) is never shown.
        policy
            .hidden
            .push(workspace.join(crate::project::STATE_DIR_NAME));
        if let Some(root) = repo_root {
            policy
                .hidden
                .push(root.join(crate::project::STATE_DIR_NAME));
        }
        if access == WorkspaceAccess::Write {
            policy.writable.push(workspace.to_path_buf());
        }
        local.sandbox = Some(Arc::new(Sandbox::new(policy)?));
        Ok(local)
    }
}

impl Drop for LocalSandbox {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
