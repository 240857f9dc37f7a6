//! A workflow's YAML, built up by a test: its name, top-level sections, the scripted agent as
//! the agent backends, stages and `finally:` stages. Stage bodies are written without
//! indentation, one key per line, as they read in the docs; the builder indents them.
//!
//! ```ignore
//! let wf = Workflow::named("agents")
//!     .top("budget: { run_usd: 0.5 }")
//!     .agents(&agent, "limits: { post_result_grace: 1s }")
//!     .stage("work", &format!("{}\nwith: {{ backend: claude }}", uses_fixture("fixture_agent")))
//!     .write(&repo);
//! ```

use std::fmt::Write as _;
use std::path::PathBuf;

use super::agent::ScriptedAgent;
use super::repo::TestRepo;

/// A workflow being built.
#[derive(Debug, Clone)]
pub struct Workflow {
    name: String,
    top: Vec<String>,
    agents: Option<String>,
    stages: Vec<(String, String)>,
    finally: Vec<(String, String)>,
}

impl Workflow {
    /// A workflow called `name`.
    pub fn named(name: &str) -> Workflow {
        Workflow {
            name: name.to_string(),
            top: Vec::new(),
            agents: None,
            stages: Vec::new(),
            finally: Vec::new(),
        }
    }

    /// A top-level section, as written (`"budget: { run_usd: 0.5 }"`); an empty one adds
    /// nothing.
    pub fn top(mut self, yaml: &str) -> Workflow {
        let yaml = yaml.trim_matches('\n');
        if !yaml.is_empty() {
            self.top.push(yaml.to_string());
        }
        self
    }

    /// `agents:` with the scripted agent as the claude and codex backends, and `more` lines
    /// under `agents:` (`"limits: { post_result_grace: 1s }"`, may be empty).
    pub fn agents(mut self, agent: &ScriptedAgent, more: &str) -> Workflow {
        let mut block = format!("agents:\n{}", agent.backends_yaml());
        block.push_str(&indent(more, 2));
        self.agents = Some(block);
        self
    }

    /// A stage: `body` holds its keys, unindented.
    pub fn stage(mut self, id: &str, body: &str) -> Workflow {
        self.stages.push((id.to_string(), body.to_string()));
        self
    }

    /// A `finally:` stage: `body` holds its keys, unindented.
    pub fn finally(mut self, id: &str, body: &str) -> Workflow {
        self.finally.push((id.to_string(), body.to_string()));
        self
    }

    /// The YAML text.
    pub fn yaml(&self) -> String {
        let mut out = format!("name: {}\n", self.name);
        for section in &self.top {
            out.push_str(section);
            out.push('\n');
        }
        if let Some(agents) = &self.agents {
            out.push_str(agents);
        }
        out.push_str("stages:\n");
        for (id, body) in &self.stages {
            let _ = write!(out, "  {id}:\n{}", indent(body, 4));
        }
        if !self.finally.is_empty() {
            out.push_str("finally:\n");
            for (id, body) in &self.finally {
                let _ = write!(out, "  {id}:\n{}", indent(body, 4));
            }
        }
        out
    }

    /// Writes it as `workflow.yaml` in `repo` (untracked); returns its path.
    pub fn write(&self, repo: &TestRepo) -> PathBuf {
        repo.workflow(&self.yaml())
    }
}

/// `text`'s lines (leading and trailing blank lines dropped) indented by `by` spaces, each
/// ending in a newline.
fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.trim_matches('\n')
        .lines()
        .map(|line| {
            if line.trim().is_empty() {
                "\n".to_string()
            } else {
                format!("{pad}{line}\n")
            }
        })
        .collect()
}

/// `uses:` and `sha256:` of a fixture plugin, unindented, for a [`Workflow::stage`] body.
pub fn uses_fixture(name: &str) -> String {
    let (path, sha) = super::fixture(name);
    format!("uses: {}\nsha256: {sha}", path.display())
}

/// A workflow of one gate stage that prints `hi` and succeeds: a run that ends at once.
pub const QUICK: &str = r#"
name: quick
stages:
  only:
    uses: builtin:gate
    with: { commands: ["sh -c 'echo hi'"] }
    permissions: { workspace: read, exec: [sh] }
"#;

/// A workflow that builds (`echo build`), then waits for a human at its `ship` approval
/// stage: a run that holds the state directory for as long as a test needs.
pub const GATED: &str = r#"
name: gated
stages:
  build:
    uses: builtin:gate
    with: { commands: ["sh -c 'echo build'"] }
    permissions: { workspace: read, exec: [sh] }
  ship:
    uses: builtin:approval
    needs: [build]
    with: { message: "Check the build output, then approve." }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_are_indented_under_their_section() {
        let wf = Workflow::named("demo")
            .top("git: { keep_worktree: always }")
            .top("")
            .stage("a", "uses: builtin:gate\nwith:\n  commands: [\"true\"]\n")
            .finally("note", "uses: builtin:gate");
        assert_eq!(
            wf.yaml(),
            "name: demo\ngit: { keep_worktree: always }\nstages:\n  a:\n    uses: builtin:gate\n    \
             with:\n      commands: [\"true\"]\nfinally:\n  note:\n    uses: builtin:gate\n"
        );
    }
}
