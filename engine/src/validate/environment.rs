//! What `engine validate` warns about in the environment it runs in (not in the file): an agent
//! CLI that is not on `PATH`, a secret that is not set. The workflow is fine, but a run started
//! from this environment would fail: the session could not start, the stage would fail when it
//! reads its secrets. Warnings, because CI and the machine that runs the workflow often differ
//! (`engine validate --strict` turns them into errors).

use std::collections::BTreeSet;
use std::path::Path;

use engine_agent::{BackendSettings, InvocationContext, SessionRequest};
use engine_workflow::{Diagnostic, LoadedWorkflow};

use crate::agents::AgentConfig;
use crate::agents::session_checks::sessions;

/// Every warning about the environment for `loaded`, in source order.
pub fn warnings(loaded: &LoadedWorkflow) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    let mut warn = |field: String, message: String| found.push(loaded.diagnostic(&field, message));
    // A config with problems is reported as errors; its CLIs are not judged.
    if let Ok(config) = AgentConfig::from_workflow(loaded) {
        let mut seen = BTreeSet::new();
        for session in sessions(loaded) {
            if !seen.insert(session.backend.clone()) {
                continue;
            }
            let Some(program) = program_of(&session.backend, &config) else {
                continue;
            };
            if !on_path(&program) {
                let setting = if config.custom.contains_key(&session.backend) {
                    format!("agents.custom.{}.command", session.backend)
                } else {
                    format!("agents.backends.{}.command", session.backend)
                };
                warn(
                    session.backend_field,
                    format!(
                        "the agent CLI `{program}` (backend {}) is not on PATH here: stage {}'s \
                         sessions would fail to start; install it, or set {setting} to where it \
                         is",
                        session.backend, session.stage
                    ),
                );
            }
        }
    }
    let defs = loaded
        .stage_defs()
        .map(|def| ("stages", def))
        .chain(loaded.finally_defs().map(|def| ("finally", def)));
    for (section, def) in defs {
        for (i, name) in def.spec.secrets.iter().enumerate() {
            if std::env::var_os(name).is_none() {
                warn(
                    format!("{section}.{}.secrets[{i}]", def.stage.id),
                    format!(
                        "secret {name} is not set here: stage {} would fail when it starts; \
                         export {name} in the environment `engine run` runs in",
                        def.stage.id
                    ),
                );
            }
        }
    }
    for (i, name) in loaded.agents.secrets.iter().enumerate() {
        if std::env::var_os(name).is_none() {
            warn(
                format!("agents.secrets[{i}]"),
                format!(
                    "secret {name} is not set here: agent sessions would run without it (a CLI \
                     that needs it fails to authenticate); export {name} in the environment \
                     `engine run` runs in"
                ),
            );
        }
    }
    found.sort_by_key(|d| (d.line, d.col));
    found
}

/// The program a session of `backend` starts (its `command` setting, else the CLI's name).
fn program_of(backend: &str, config: &AgentConfig) -> Option<String> {
    let settings = config
        .backends
        .get(backend)
        .cloned()
        .unwrap_or_else(BackendSettings::default);
    let backend = engine_agent::backends::backend(backend, &settings, &config.custom).ok()?;
    let request = SessionRequest {
        backend: backend.name().to_string(),
        prompt: "probe".into(),
        ..Default::default()
    };
    let invocation = backend
        .invocation(InvocationContext {
            request: &request,
            scratch_dir: Path::new("/nonexistent-scratch"),
            tiers: &config.tiers,
        })
        .ok()?;
    Some(invocation.program)
}

/// Whether `program` can be started: a bare name found in an absolute `PATH` entry as an
/// executable file, or an absolute path to one. A relative path with a slash resolves against
/// the run's worktree, which does not exist yet: it is not judged.
fn on_path(program: &str) -> bool {
    if program.contains('/') {
        let path = Path::new(program);
        return !path.is_absolute() || executable(path);
    }
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path)
            .filter(|dir| dir.is_absolute())
            .any(|dir| executable(&dir.join(program)))
    })
}

fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_like_the_supervisor_finds_them() {
        assert!(on_path("sh"));
        assert!(!on_path("engine-surely-no-such-program"));
        assert!(on_path("/bin/sh"));
        assert!(!on_path("/nonexistent/sh"));
        // Relative to the worktree, which does not exist yet.
        assert!(on_path("./bin/agent"));
    }

    #[test]
    fn unset_secrets_and_missing_clis_are_located() {
        let yaml = r"name: t
agents:
  secrets: [ENGINE_TEST_UNSET_AGENT_SECRET, PATH]
  custom:
    mine: { command: [engine-surely-no-such-program] }
stages:
  execute:
    uses: builtin:agent
    with: { backend: mine }
    secrets: [ENGINE_TEST_UNSET_STAGE_SECRET]
    permissions: { workspace: write, agent: true }
";
        let loaded = engine_workflow::load_str("wf.yaml", Path::new("."), yaml).unwrap();
        let found: Vec<String> = warnings(&loaded)
            .iter()
            .map(|d| format!("{}:{}: {}: {}", d.line, d.col, d.field, d.message))
            .collect();
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(
            found[0].starts_with("3:13: agents.secrets[0]: secret ENGINE_TEST_UNSET_AGENT_SECRET"),
            "{found:#?}"
        );
        assert!(
            found[1].starts_with(
                "9:22: stages.execute.with.backend: the agent CLI \
                 `engine-surely-no-such-program` (backend mine) is not on PATH"
            ),
            "{found:#?}"
        );
        assert!(
            found[1].contains("agents.custom.mine.command"),
            "{found:#?}"
        );
        assert!(
            found[2].starts_with("10:15: stages.execute.secrets[0]: secret"),
            "{found:#?}"
        );
    }
}
