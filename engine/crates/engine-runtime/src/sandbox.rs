//! The per-attempt sandbox: store data, memory limiter and the WASI context.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use engine_core::{Permissions, WorkspaceAccess};
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::agent::AgentLauncher;
use crate::attempt::AttemptObserver;
use crate::exec::ExecPolicy;
use crate::net::NetPolicy;
use crate::pipe::TailPipe;

/// Where the worktree is mounted inside the guest.
pub(crate) const GUEST_WORKSPACE: &str = "/workspace";

/// Bytes of the guest's stdout and of its stderr kept (the tail).
const STDIO_CAP: usize = 64 * 1024;

/// Elements a table may grow to (function references of the component; generous).
const TABLE_ELEMENTS_LIMIT: usize = 1_000_000;

/// The store data of one attempt.
pub(crate) struct StageState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    /// Which hosts `wasi:http` may reach (the grant's `net`), within the attempt's deadline.
    net: NetPolicy,
    pub(crate) table: ResourceTable,
    /// Enforces the memory limit and remembers when it was hit.
    pub(crate) limiter: MemoryLimiter,
    /// What the `exec` import may do.
    pub(crate) exec: ExecPolicy,
    /// Receives the `log` import's calls.
    pub(crate) observer: Arc<dyn AttemptObserver>,
    /// Starts agent sessions; `None` when the stage is not granted `agent`.
    pub(crate) agent: Option<Arc<dyn AgentLauncher>>,
    /// The guest's stdout (shared with the WASI context).
    pub(crate) stdout: TailPipe,
    /// The guest's stderr (shared with the WASI context).
    pub(crate) stderr: TailPipe,
}

/// What a sandbox is built from.
pub(crate) struct SandboxSpec<'a> {
    pub(crate) stage_id: &'a str,
    pub(crate) workspace: Option<&'a Path>,
    pub(crate) permissions: &'a Permissions,
    pub(crate) deadline: Instant,
    pub(crate) memory_limit_bytes: u64,
    pub(crate) exec_env: &'a [(String, String)],
    pub(crate) observer: Arc<dyn AttemptObserver>,
    pub(crate) agent: Option<Arc<dyn AgentLauncher>>,
    /// Confinement of the programs the stage runs (`None`: they run unconfined).
    pub(crate) confinement: Option<Arc<engine_confine::Sandbox>>,
}

impl StageState {
    /// Builds the sandbox: empty environment and arguments, no sockets, stdio captured, outgoing
    /// HTTP only to the granted `net` hosts, and only the worktree (when granted) preopened at
    /// `/workspace`. Fails when the worktree cannot be
    /// opened.
    pub(crate) fn new(spec: SandboxSpec<'_>) -> Result<StageState, String> {
        let stdout = TailPipe::new(STDIO_CAP);
        let stderr = TailPipe::new(STDIO_CAP);
        let mut builder = WasiCtxBuilder::new();
        builder
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        let mounted = mounted_workspace(spec.workspace, spec.permissions.workspace);
        if let Some((root, perms)) = mounted {
            builder
                .preopened_dir(root, GUEST_WORKSPACE, perms)
                .map_err(|e| format!("cannot mount the worktree {}: {e}", root.display()))?;
        }
        let exec = ExecPolicy {
            stage_id: spec.stage_id.to_string(),
            granted: spec.permissions.exec.clone(),
            workspace: mounted.map(|(root, _)| root.to_path_buf()),
            env: spec.exec_env.to_vec(),
            deadline: spec.deadline,
            observer: spec.observer.clone(),
            confinement: spec.confinement.clone(),
        };
        let net = NetPolicy::new(
            spec.stage_id,
            &spec.permissions.net,
            spec.deadline,
            spec.observer.clone(),
        );
        Ok(StageState {
            wasi: builder.build(),
            http: WasiHttpCtx::new(),
            net,
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(spec.memory_limit_bytes),
            exec,
            observer: spec.observer,
            // The grant is checked here, once: without it the import refuses every start.
            agent: spec.agent.filter(|_| spec.permissions.agent),
            stdout,
            stderr,
        })
    }
}

/// The worktree and its WASI permissions, when it is mounted at all.
pub(crate) fn mounted_workspace(
    workspace: Option<&Path>,
    access: WorkspaceAccess,
) -> Option<(&Path, FsPerms)> {
    let root = workspace?;
    match access {
        WorkspaceAccess::None => None,
        WorkspaceAccess::Read => Some((root, FsPerms::ReadOnly)),
        WorkspaceAccess::Write => Some((root, FsPerms::ReadWrite)),
    }
}

impl WasiView for StageState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for StageState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.net,
        }
    }
}

/// The trap raised when a guest grows a memory past its limit.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("stage exceeded its memory limit of {}", format_bytes(*.limit))]
pub(crate) struct MemoryLimitExceeded {
    /// The limit in bytes.
    pub(crate) limit: u64,
}

/// Caps each linear memory at the attempt's limit; growing past it traps (rather than letting
/// the guest's allocator see a failure it would turn into an opaque abort).
pub(crate) struct MemoryLimiter {
    limit: u64,
    /// Set once a growth was refused.
    pub(crate) exceeded: bool,
}

impl MemoryLimiter {
    fn new(limit: u64) -> Self {
        MemoryLimiter {
            limit,
            exceeded: false,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired as u64 > self.limit {
            self.exceeded = true;
            return Err(MemoryLimitExceeded { limit: self.limit }.into());
        }
        Ok(maximum.is_none_or(|max| desired <= max))
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= TABLE_ELEMENTS_LIMIT && maximum.is_none_or(|max| desired <= max))
    }
}

/// `64 MiB`, `1.5 GiB`, `1000 bytes`.
pub(crate) fn format_bytes(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if bytes >= size {
            let value = bytes as f64 / size as f64;
            return if bytes.is_multiple_of(size) {
                format!("{} {unit}", bytes / size)
            } else {
                format!("{value:.1} {unit}")
            };
        }
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_formatted_for_people() {
        assert_eq!(format_bytes(64 << 20), "64 MiB");
        assert_eq!(format_bytes(3 << 29), "1.5 GiB");
        assert_eq!(format_bytes(1000), "1000 bytes");
        assert_eq!(format_bytes(4096), "4 KiB");
    }

    #[test]
    fn limiter_refuses_growth_past_the_limit() {
        let mut l = MemoryLimiter::new(1 << 20);
        assert!(l.memory_growing(0, 1 << 20, None).unwrap());
        assert!(!l.exceeded);
        let err = l.memory_growing(1 << 20, 2 << 20, None).unwrap_err();
        assert!(l.exceeded);
        assert_eq!(err.to_string(), "stage exceeded its memory limit of 1 MiB");
        assert!(!l.memory_growing(0, 100, Some(50)).unwrap());
    }

    #[test]
    fn workspace_is_mounted_only_when_granted() {
        let root = Path::new("/tmp");
        assert!(mounted_workspace(None, WorkspaceAccess::Write).is_none());
        assert!(mounted_workspace(Some(root), WorkspaceAccess::None).is_none());
        assert_eq!(
            mounted_workspace(Some(root), WorkspaceAccess::Read).map(|(_, p)| p),
            Some(FsPerms::ReadOnly)
        );
        assert_eq!(
            mounted_workspace(Some(root), WorkspaceAccess::Write).map(|(_, p)| p),
            Some(FsPerms::ReadWrite)
        );
    }
}
