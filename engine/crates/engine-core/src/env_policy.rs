//! Environment variables no program a stage runs may be given: they change how programs load
//! (`LD_PRELOAD`), which repository or configuration git uses (`GIT_DIR`, `GIT_CONFIG_*`), or
//! what a shell runs before its script (`BASH_ENV`). Neither the workflow's `env:` nor a stage's
//! own command may set them; a stage may not set `PATH` or interpreter options either (the
//! workflow, which is the user's, may set `PATH`).

/// Names refused everywhere.
const DENIED: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    "GIT_CONFIG",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "GIT_CONFIG_NOSYSTEM",
    "GIT_CONFIG_COUNT",
    "GIT_CONFIG_PARAMETERS",
    "GIT_EXEC_PATH",
    "GIT_TEMPLATE_DIR",
    "BASH_ENV",
    "ENV",
];

/// Prefixes refused everywhere.
const DENIED_PREFIXES: &[&str] = &["LD_", "DYLD_", "GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"];

/// Names a stage's own command may not set (the workflow may).
const DENIED_TO_STAGES: &[&str] = &[
    "PATH",
    "NODE_OPTIONS",
    "PERL5OPT",
    "RUBYOPT",
    "PYTHONSTARTUP",
];

/// Who sets the variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvSource {
    /// The workflow's `env:` (the user's own file).
    Workflow,
    /// A stage's `exec` call (plugin code).
    Stage,
}

/// Why `name` may not be set by `source`, or `None` when it may.
pub fn denied(name: &str, source: EnvSource) -> Option<&'static str> {
    if DENIED.contains(&name) || DENIED_PREFIXES.iter().any(|p| name.starts_with(p)) {
        return Some(if name.starts_with("GIT_") {
            "it would change which repository or configuration git uses"
        } else if name.starts_with("LD_") || name.starts_with("DYLD_") {
            "it would change how programs load"
        } else {
            "it would make shells run another script first"
        });
    }
    (source == EnvSource::Stage && DENIED_TO_STAGES.contains(&name))
        .then_some("it would change which programs run or inject code into interpreters")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loader_git_and_shell_variables_are_refused_to_everyone() {
        for name in [
            "LD_PRELOAD",
            "DYLD_INSERT_LIBRARIES",
            "GIT_DIR",
            "GIT_CONFIG_KEY_0",
            "BASH_ENV",
            "ENV",
        ] {
            assert!(denied(name, EnvSource::Workflow).is_some(), "{name}");
            assert!(denied(name, EnvSource::Stage).is_some(), "{name}");
        }
        for name in [
            "RUST_BACKTRACE",
            "GIT_AUTHOR_NAME",
            "CARGO_TERM_COLOR",
            "ENVIRONMENT",
        ] {
            assert!(denied(name, EnvSource::Stage).is_none(), "{name}");
        }
    }

    #[test]
    fn path_is_the_workflows_not_a_stages() {
        assert!(denied("PATH", EnvSource::Workflow).is_none());
        assert!(denied("PATH", EnvSource::Stage).is_some());
        assert!(denied("NODE_OPTIONS", EnvSource::Stage).is_some());
    }
}
