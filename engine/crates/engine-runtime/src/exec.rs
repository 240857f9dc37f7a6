//! The `exec` import: which programs a stage may run, where, and with what environment.
//!
//! Checks, in order: the stage has the worktree mounted; the program is granted verbatim in
//! `permissions.exec`; it resolves on the host's PATH (a granted path is taken as is, relative
//! paths inside the worktree); the working directory is `/workspace` or below and, after
//! resolving `..` and symlinks, still inside the worktree; arguments and environment are
//! well-formed. The child then runs through [`crate::process`].

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine_core::env_policy::{EnvSource, denied};

use crate::attempt::AttemptObserver;
use crate::bindings::engine::stage::exec::{Command, ExecError, Output};
use crate::process::{self, ProcessSpec};
use crate::sandbox::GUEST_WORKSPACE;

/// Output kept per stream when the stage does not say.
pub(crate) const DEFAULT_OUTPUT_CAP: usize = 64 * 1024;

/// Most output kept per stream, whatever the stage asks.
pub(crate) const MAX_OUTPUT_CAP: usize = 1024 * 1024;

/// Host variables a child inherits (when set); everything else is scrubbed.
const INHERITED_VARS: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "CARGO_HOME",
    "RUSTUP_HOME",
];

/// What the `exec` import may do in one attempt.
pub(crate) struct ExecPolicy {
    /// The stage's id, for messages.
    pub(crate) stage_id: String,
    /// Programs the workflow grants (`permissions.exec`).
    pub(crate) granted: Vec<String>,
    /// Host path of the worktree when it is mounted (access read or write).
    pub(crate) workspace: Option<PathBuf>,
    /// The workflow's `env:` for children.
    pub(crate) env: Vec<(String, String)>,
    /// When the attempt's time is up.
    pub(crate) deadline: Instant,
    /// Told about every program run.
    pub(crate) observer: Arc<dyn AttemptObserver>,
    /// Confinement of the programs (`None`: unconfined).
    pub(crate) confinement: Option<Arc<engine_confine::Sandbox>>,
}

impl ExecPolicy {
    /// Runs one command for the guest.
    pub(crate) async fn run(&self, command: Command) -> Result<Output, ExecError> {
        let spec = self.prepare(&command)?;
        self.observer.exec_started(&command.program, &command.args);
        let started = Instant::now();
        let result = process::run(
            spec,
            self.confinement.as_deref(),
            Some(self.observer.clone()),
        )
        .await;
        let exit_code = result.as_ref().ok().and_then(|o| o.exit_code);
        self.observer
            .exec_finished(&command.program, exit_code, started.elapsed());
        result
    }

    /// Checks the command against the policy and turns it into a process to start.
    fn prepare(&self, command: &Command) -> Result<ProcessSpec, ExecError> {
        let program = command.program.as_str();
        let Some(root) = &self.workspace else {
            return Err(ExecError::NotPermitted(format!(
                "stage {} cannot run programs without workspace access; grant \
                 permissions.workspace: read or write",
                self.stage_id
            )));
        };
        if !self.granted.iter().any(|g| g == program) {
            return Err(ExecError::NotPermitted(format!(
                "`{program}` is not granted to stage {}; grant it under permissions.exec",
                self.stage_id
            )));
        }
        let root = root.canonicalize().map_err(|e| {
            ExecError::InvalidCwd(format!(
                "the worktree {} is not usable: {e}",
                root.display()
            ))
        })?;
        let executable = resolve_program(program, &root)?;
        let cwd = resolve_cwd(&root, command.cwd.as_deref())?;
        check_arguments(&command.args)?;
        check_env(&command.env)?;

        let remaining = self.deadline.saturating_duration_since(Instant::now());
        let timeout = command
            .timeout_ms
            .map_or(remaining, |ms| Duration::from_millis(ms).min(remaining));
        let output_cap = command.output_cap.map_or(DEFAULT_OUTPUT_CAP, |cap| {
            usize::try_from(cap)
                .unwrap_or(MAX_OUTPUT_CAP)
                .min(MAX_OUTPUT_CAP)
        });
        Ok(ProcessSpec {
            program: executable,
            display_name: program.to_string(),
            args: command.args.clone(),
            cwd,
            env: child_env(&self.env, &command.env),
            timeout,
            output_cap,
        })
    }
}

/// A bare name is looked up on the host's PATH (absolute entries only); a name with a slash
/// (granted verbatim) is used as is, relative to the worktree when relative.
pub(crate) fn resolve_program(program: &str, root: &Path) -> Result<PathBuf, ExecError> {
    if program.is_empty() || program.contains('\0') {
        return Err(ExecError::InvalidArgument(format!(
            "invalid program name {program:?}"
        )));
    }
    if program.contains('/') {
        let path = Path::new(program);
        let path = if path.is_absolute() {
            path.to_path_buf()
        } else {
            let inside = root.join(path).canonicalize().map_err(|e| {
                ExecError::NotFound(format!("`{program}` not found in the workspace: {e}"))
            })?;
            if !inside.starts_with(root) {
                return Err(ExecError::NotPermitted(format!(
                    "`{program}` leads outside the workspace"
                )));
            }
            inside
        };
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(ExecError::NotFound(format!(
                "`{program}` is not an executable file"
            )))
        };
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path_var)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| ExecError::NotFound(format!("`{program}` is not on the host's PATH")))
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Maps the guest's cwd (`/workspace/...` or relative to it) to a directory inside the
/// canonical worktree `root`, refusing anything that resolves outside it.
pub(crate) fn resolve_cwd(root: &Path, cwd: Option<&str>) -> Result<PathBuf, ExecError> {
    let Some(cwd) = cwd else {
        return Ok(root.to_path_buf());
    };
    let guest = Path::new(cwd);
    let relative = if guest.is_absolute() {
        guest.strip_prefix(GUEST_WORKSPACE).map_err(|_| {
            ExecError::InvalidCwd(format!("`{cwd}` is not inside {GUEST_WORKSPACE}"))
        })?
    } else {
        guest
    };
    let resolved = root
        .join(relative)
        .canonicalize()
        .map_err(|e| ExecError::InvalidCwd(format!("`{cwd}` cannot be used: {e}")))?;
    if !resolved.starts_with(root) {
        return Err(ExecError::InvalidCwd(format!(
            "`{cwd}` leads outside {GUEST_WORKSPACE}"
        )));
    }
    if !resolved.is_dir() {
        return Err(ExecError::InvalidCwd(format!("`{cwd}` is not a directory")));
    }
    Ok(resolved)
}

fn check_arguments(args: &[String]) -> Result<(), ExecError> {
    match args.iter().find(|a| a.contains('\0')) {
        Some(arg) => Err(ExecError::InvalidArgument(format!(
            "argument {arg:?} contains a NUL byte"
        ))),
        None => Ok(()),
    }
}

/// Names must be non-empty without `=` or NUL; values without NUL; and nothing on the deny list
/// ([`engine_core::env_policy`]: loader, git and shell-startup variables, `PATH`), which would
/// let a stage inject code into a granted program or point git at another repository.
fn check_env(env: &[(String, String)]) -> Result<(), ExecError> {
    for (key, value) in env {
        if key.is_empty() || key.contains('=') || key.contains('\0') {
            return Err(ExecError::InvalidArgument(format!(
                "invalid environment variable name {key:?}"
            )));
        }
        if value.contains('\0') {
            return Err(ExecError::InvalidArgument(format!(
                "the value of {key} contains a NUL byte"
            )));
        }
        if let Some(why) = denied(key, EnvSource::Stage) {
            return Err(ExecError::InvalidArgument(format!(
                "setting {key} is not allowed: {why}"
            )));
        }
    }
    Ok(())
}

/// The child's environment: the inherited allowlist, `TERM=dumb`, the workflow's `env:`, then
/// the command's own variables.
fn child_env(workflow: &[(String, String)], command: &[(String, String)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = INHERITED_VARS
        .iter()
        .filter_map(|name| std::env::var(name).ok().map(|v| (name.to_string(), v)))
        .collect();
    env.push(("TERM".to_string(), "dumb".to_string()));
    env.extend(workflow.iter().cloned());
    env.extend(command.iter().cloned());
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
        (dir, root)
    }

    #[test]
    fn cwd_stays_inside_the_workspace() {
        let (_dir, root) = root();
        assert_eq!(resolve_cwd(&root, None).unwrap(), root);
        assert_eq!(resolve_cwd(&root, Some("/workspace")).unwrap(), root);
        assert_eq!(
            resolve_cwd(&root, Some("/workspace/sub")).unwrap(),
            root.join("sub")
        );
        assert_eq!(
            resolve_cwd(&root, Some("sub/deeper/..")).unwrap(),
            root.join("sub")
        );
        for bad in [
            "/workspace/..",
            "..",
            "sub/../..",
            "/tmp",
            "/workspacex",
            "missing",
        ] {
            assert!(
                matches!(resolve_cwd(&root, Some(bad)), Err(ExecError::InvalidCwd(_))),
                "{bad} should be refused"
            );
        }
    }

    #[test]
    fn cwd_symlink_out_of_the_workspace_is_refused() {
        let (_dir, root) = root();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("escape")).unwrap();
        let err = resolve_cwd(&root, Some("escape")).unwrap_err();
        assert!(matches!(err, ExecError::InvalidCwd(m) if m.contains("outside")));
    }

    #[test]
    fn programs_resolve_on_path_or_not_found() {
        let (_dir, root) = root();
        let sh = resolve_program("sh", &root).unwrap();
        assert!(sh.is_absolute() && sh.ends_with("sh"));
        assert!(matches!(
            resolve_program("no-such-program-xyz", &root),
            Err(ExecError::NotFound(_))
        ));
        assert!(matches!(
            resolve_program("../x", &root),
            Err(ExecError::NotFound(_) | ExecError::NotPermitted(_))
        ));
    }

    #[test]
    fn loader_variables_and_bad_names_are_refused() {
        let env = |k: &str| vec![(k.to_string(), "v".to_string())];
        assert!(check_env(&env("FOO")).is_ok());
        assert!(check_env(&env("LD_PRELOAD")).is_err());
        assert!(check_env(&env("GIT_DIR")).is_err());
        assert!(check_env(&env("BASH_ENV")).is_err());
        assert!(check_env(&env("PATH")).is_err());
        assert!(check_env(&env("A=B")).is_err());
        assert!(check_env(&env("")).is_err());
        assert!(check_arguments(&["a\0b".to_string()]).is_err());
    }

    #[test]
    fn child_env_is_scrubbed_and_layered() {
        let env = child_env(&[("WF".into(), "1".into())], &[("CMD".into(), "2".into())]);
        let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert!(
            names
                .iter()
                .all(|n| INHERITED_VARS.contains(n) || ["TERM", "WF", "CMD"].contains(n))
        );
        assert!(env.contains(&("TERM".into(), "dumb".into())));
        assert_eq!(names.last(), Some(&"CMD"));
    }
}
