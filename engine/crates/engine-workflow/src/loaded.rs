//! The result of loading a workflow file: the typed workflow plus what the host needs around it
//! (each stage's [`StageSpec`], environment, paths, source positions).

use std::collections::BTreeMap;
use std::path::PathBuf;

use engine_core::{PluginRef, Workflow};
use serde_json::Value;

use crate::field_path::FieldPath;
use crate::spans::SpanIndex;
use crate::stage_spec::{StageDef, StageSpec};

/// A workflow file that passed every check that does not need the plugins.
#[derive(Debug, Clone)]
pub struct LoadedWorkflow {
    /// The validated workflow, every default resolved, stages in file order: what the state
    /// machine runs. What the host needs to run each stage is in its [`StageSpec`]
    /// ([`LoadedWorkflow::spec`], [`LoadedWorkflow::stage_def`]).
    pub workflow: Workflow,
    /// The `env:` mapping: variables passed to programs that stages run through `exec`.
    pub env: BTreeMap<String, String>,
    /// The `description:`, if any.
    pub description: Option<String>,
    /// Models, budgets, prices and how agents run (`models:`, `budget:`, `prices:`, `agents:`).
    pub agents: crate::agents::AgentSettings,
    /// How runs use git: base branch, branch prefix, commits, worktree cleanup (`git:`).
    pub git: crate::git_settings::GitSettings,
    /// Where tasks come from (`tasks:`), when the workflow says.
    pub tasks: Option<crate::task_source::TaskSourceSpec>,
    /// When the run modes may start new runs (`limits:`).
    pub limits: crate::run_limits::RunLimits,
    /// How the processes a run starts are confined (`sandbox:` and stages' `sandbox:`).
    pub sandbox: crate::sandbox_settings::SandboxSettings,
    /// Build caches kept across runs, and which stages get them (`caches:`).
    pub caches: crate::cache_settings::CacheSettings,
    /// How many runs of its group may go on at once (`concurrency:`); `None` when the section
    /// is absent.
    pub concurrency: Option<crate::concurrency_settings::Concurrency>,
    /// The constitution and the skills (`constitution:`, `skills:`).
    pub rules: crate::rules_settings::RulesSettings,
    /// The file's display name, as used in diagnostics.
    pub file: String,
    /// The directory relative paths in the workflow (`uses: plugins/x.wasm`) are resolved from.
    pub base_dir: PathBuf,
    /// The file's text.
    pub source: String,
    /// The spec of every stage and `finally:` stage, by id (ids are unique across both
    /// sections: the loader checks it).
    pub(crate) specs: BTreeMap<String, StageSpec>,
    pub(crate) document: Value,
    pub(crate) spans: SpanIndex,
}

impl LoadedWorkflow {
    /// What the host needs to run the stage (or `finally:` stage) with this id.
    pub fn spec(&self, stage_id: &str) -> Option<&StageSpec> {
        self.specs.get(stage_id)
    }

    /// The stage (or `finally:` stage) with this id, with its spec.
    pub fn stage_def(&self, stage_id: &str) -> Option<StageDef<'_>> {
        let stage = self
            .workflow
            .stage(stage_id)
            .or_else(|| self.workflow.finally_stage(stage_id))?;
        Some(StageDef {
            stage,
            spec: self.spec(stage_id)?,
        })
    }

    /// The stages of `stages:` with their specs, in file order.
    pub fn stage_defs(&self) -> impl Iterator<Item = StageDef<'_>> {
        self.defs_of(&self.workflow.stages)
    }

    /// The stages of `finally:` with their specs, in file order.
    pub fn finally_defs(&self) -> impl Iterator<Item = StageDef<'_>> {
        self.defs_of(&self.workflow.finally)
    }

    /// `stages` with their specs. The loader builds a spec with every stage, so none is
    /// skipped.
    fn defs_of<'a>(
        &'a self,
        stages: &'a [engine_core::Stage],
    ) -> impl Iterator<Item = StageDef<'a>> {
        stages.iter().filter_map(|stage| {
            Some(StageDef {
                stage,
                spec: self.specs.get(&stage.id)?,
            })
        })
    }

    /// Where the component of a path plugin is on disk (`base_dir` joined with `uses`);
    /// `None` for builtin stages.
    pub fn plugin_path(&self, spec: &StageSpec) -> Option<PathBuf> {
        match &spec.uses {
            PluginRef::Builtin { .. } => None,
            PluginRef::Path { path, .. } => Some(self.base_dir.join(path)),
        }
    }

    /// The 1-based (line, column) of a field, given as a dotted path (`stages.test.with`,
    /// `stages.review.needs[0]`) or a JSON pointer (`/stages/review/needs/0`). A collection is
    /// located at its key; a path that is not in the file at the nearest enclosing node;
    /// anything unparseable at (1, 1).
    pub fn span_of(&self, field_path: &str) -> (usize, usize) {
        let path = if field_path.starts_with('/') || field_path.is_empty() {
            Some(FieldPath::from_pointer(field_path, &self.document))
        } else {
            FieldPath::parse_dotted(field_path)
        };
        path.map_or((1, 1), |p| self.spans.locate(&p))
    }

    /// A diagnostic about the field at `field_path` (located as [`LoadedWorkflow::span_of`]
    /// locates it) in this file.
    pub fn diagnostic(&self, field_path: &str, message: String) -> crate::Diagnostic {
        let (line, col) = self.span_of(field_path);
        crate::Diagnostic {
            file: self.file.clone(),
            line,
            col,
            field: field_path.to_string(),
            message,
        }
    }

    /// Whether the file sets the field at `path`.
    pub(crate) fn has_field(&self, path: &FieldPath) -> bool {
        self.document.pointer(&path.pointer()).is_some()
    }
}
