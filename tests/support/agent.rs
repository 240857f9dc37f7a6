//! The scripted agent (`engine scripted-agent`) as tests use it: a script, a state directory
//! outside the repository, and the invocation log it keeps.

use std::path::{Path, PathBuf};

/// A scripted agent playing one script.
pub struct ScriptedAgent {
    dir: tempfile::TempDir,
}

impl ScriptedAgent {
    /// Writes `script` (YAML: a list of sessions, each a list of steps).
    pub fn new(script: &str) -> ScriptedAgent {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("no temporary directory: {e}"));
        std::fs::write(dir.path().join("script.yaml"), script)
            .unwrap_or_else(|e| panic!("writing the script: {e}"));
        ScriptedAgent { dir }
    }

    /// The agent's directory (its script, state and scratch directory), for
    /// [`super::TestRepo::redact`].
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A directory the agent's sessions may write (granted with the backends): for files a
    /// test's scripted commands leave.
    #[allow(dead_code)]
    pub fn scratch(&self) -> PathBuf {
        let dir = self.dir.path().join("scratch");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The script file (a test may rewrite it before the first session).
    #[allow(dead_code)]
    pub fn script_path(&self) -> PathBuf {
        self.dir.path().join("script.yaml")
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// The `command:` (a YAML flow list) that makes a backend run this agent as `cli`
    /// (`claude` or `codex`).
    pub fn command(&self, cli: &str) -> String {
        format!(
            "[{}, scripted-agent, --script, {}, --state, {}, --as, {cli}]",
            super::engine_bin().display(),
            self.dir.path().join("script.yaml").display(),
            self.state().display()
        )
    }

    /// `agents.backends` lines (indented for a top-level `agents:` block) for claude and codex;
    /// each may write the scripted agent's state directory (its invocation log) under
    /// confinement.
    pub fn backends_yaml(&self) -> String {
        format!(
            "  backends:\n    claude: {{ command: {}, write: [{}] }}\n    codex: {{ command: {}, \
             write: [{}] }}\n",
            self.command("claude"),
            self.dir.path().display(),
            self.command("codex"),
            self.dir.path().display()
        )
    }

    /// Every invocation so far (one JSON object each): argv, prompt, model, resume, env names...
    pub fn invocations(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.state().join("invocations.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}
