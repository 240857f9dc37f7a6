//! Workflow YAML for engine: parse a workflow file, check it against the workflow JSON Schema
//! and the rules the schema cannot express, and build the typed [`engine_core::Workflow`] (what
//! the state machine runs) and each stage's [`StageSpec`] (what the host needs to run it) with
//! every default resolved. Problems come back as [`Diagnostics`], each naming `file:line:col`,
//! the field and what is wrong:
//!
//! ```text
//! ci.yaml:7:5: stages.test: unknown field "neds" (did you mean "needs"? expected one of: ...)
//! ```
//!
//! Checks that need the stages' components (config schemas, permissions) run later, when the
//! host has loaded them: see [`LoadedWorkflow::check_plugins`].
//!
//! At run time the driver evaluates `if:` conditions with [`evaluate_condition`] and renders
//! templated `with:` values with [`render_config`], both over a [`Scope`].

#![warn(missing_docs)]

mod agents;
mod approval;
mod boundary_checks;
mod cache_settings;
mod concurrency_settings;
mod condition_check;
mod conditions;
mod diagnostic;
mod env_checks;
mod expression_checks;
mod field_path;
mod gate_checks;
mod git_settings;
mod glob;
mod graph;
mod input;
mod limits;
mod loaded;
mod plugins;
mod render_limits;
mod resolve;
mod rules_settings;
mod run_limits;
mod sandbox_settings;
mod schema;
mod schema_messages;
mod scope;
mod skill;
mod spans;
mod stage_spec;
mod suggest;
mod task_source;
mod template_check;
mod templates;
mod units;
mod wording;
mod yaml;
mod yaml_block_end;
mod yaml_node;
mod yaml_reader;
mod yaml_scalar;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

pub use agents::{AgentSettings, BackendOverride, Budget, Price, SupervisionLimits};
pub use approval::APPROVAL_USES;
pub use cache_settings::{Cache, CacheMount, CacheSettings};
pub use concurrency_settings::{
    Concurrency, MAX_CONCURRENCY_GROUP_CHARS, MAX_CONCURRENCY_LIMIT, MIN_CONCURRENCY_LIMIT,
};
pub use conditions::{CONDITION_FUNCTIONS, ExprError, evaluate_condition};
pub use diagnostic::{Diagnostic, Diagnostics};
pub use git_settings::{
    DEFAULT_BRANCH_PREFIX, DEFAULT_COMMIT_MESSAGE, GitSettings, KeepWorktree, NotAnIdentity,
    check_base, parse_identity,
};
pub use glob::glob_matches;
pub use input::{MAX_NESTING, MAX_STAGES, MAX_WORKFLOW_BYTES};
pub use loaded::LoadedWorkflow;
pub use plugins::PluginInfo;
pub use render_limits::{MAX_TEMPLATE_NESTING, RenderLimits};
pub use rules_settings::{
    ConstitutionSetting, DEFAULT_CONSTITUTION_PATH, DEFAULT_SKILLS_DIR, RulesSettings,
    check_repo_path, check_skill_name,
};
pub use run_limits::{
    DAY_NAMES, DaysError, RunLimits, WorkHours, WorkHoursError, parse_days, parse_work_hours,
};
pub use sandbox_settings::{
    NetworkGrant, RepositoryAccess, SandboxLimits, SandboxSettings, StageSandbox,
};
pub use schema::schema_json;
pub use scope::{
    CONDITION_ROOTS, MissingSecret, RUN_FIELDS, STAGE_FIELDS, Scope, TASK_FIELDS, TEMPLATE_ROOTS,
    TerminalStatus, read_secrets, stage_result,
};
pub use skill::{MAX_SKILL_BYTES, Skill, SkillGate, Story, load_skill_str, skill_schema_json};
pub use stage_spec::{DEFAULT_MEMORY_LIMIT_BYTES, DEFAULT_TIMEOUT_MS, StageDef, StageSpec};
pub use suggest::closest;
pub use task_source::{TASKS_ENGINE_KEYS, TaskSourceSpec};
pub use templates::{
    TemplateError, is_template, plugin_rendered_fields, render_config, render_config_within,
};

use diagnostic::Problem;
use field_path::FieldPath;
use spans::SpanIndex;
use wording::show;

/// Loads a workflow from `source`. `file_display` names the file in diagnostics and
/// `base_dir` is where relative plugin paths are resolved from. A leading byte order mark is
/// skipped; text over [`MAX_WORKFLOW_BYTES`], nesting deeper than [`MAX_NESTING`], any YAML tag
/// and more than [`MAX_STAGES`] stages are refused with a located diagnostic.
pub fn load_str(
    file_display: &str,
    base_dir: &Path,
    source: &str,
) -> Result<LoadedWorkflow, Diagnostics> {
    let source = input::strip_bom(source);
    let parsed = yaml::parse(source)
        .map_err(|unreadable| locate_all(file_display, &unreadable.spans, &unreadable.problems))?;
    let spans = parsed.spans;
    if !parsed.json.is_object() {
        let problem = Problem::at(
            FieldPath::root(),
            format!(
                "a workflow must be a YAML mapping with at least \"name\" and \"stages\" (got {})",
                show(&parsed.json)
            ),
        );
        return Err(locate_all(file_display, &spans, &[problem]));
    }
    if let Some(problem) = input::check_stage_count(&parsed.json) {
        return Err(locate_all(file_display, &spans, &[problem]));
    }
    let mut problems = schema::check(&parsed.json);
    let mut semantic = Vec::new();
    let resolved = resolve::resolve(
        &parsed.json,
        &parsed.stage_order,
        &parsed.finally_order,
        &mut semantic,
    );
    graph::check(
        &resolved.workflow.stages,
        &resolved.needs_fields,
        &mut semantic,
    );
    expression_checks::check(&resolved, &mut semantic);
    boundary_checks::check(&parsed.json, &mut semantic);
    gate_checks::check(&parsed.json, &mut semantic);
    let rules = parsed
        .json
        .as_object()
        .map(|root| rules_settings::read_rules(root, &mut semantic))
        .unwrap_or_default();
    // The schema's message wins where both found a problem with the same field.
    let flagged: HashSet<String> = problems.iter().map(|p| p.field.to_string()).collect();
    problems.extend(
        semantic
            .into_iter()
            .filter(|p| !flagged.contains(&p.field.to_string())),
    );
    if !problems.is_empty() {
        return Err(locate_all(file_display, &spans, &problems));
    }
    // Ids are unique across `stages:` and `finally:` now (a shared one is a problem above).
    let specs = resolved
        .workflow
        .stages
        .iter()
        .chain(&resolved.workflow.finally)
        .map(|stage| stage.id.clone())
        .zip(
            resolved
                .stage_specs
                .into_iter()
                .chain(resolved.finally_specs),
        )
        .collect();
    Ok(LoadedWorkflow {
        workflow: resolved.workflow,
        specs,
        env: resolved.env,
        description: resolved.description,
        agents: resolved.agents,
        git: resolved.git,
        tasks: resolved.tasks,
        limits: resolved.limits,
        sandbox: resolved.sandbox,
        caches: resolved.caches,
        concurrency: resolved.concurrency,
        rules,
        file: file_display.to_string(),
        base_dir: base_dir.to_path_buf(),
        source: source.to_string(),
        document: parsed.json,
        spans,
    })
}

/// Loads the workflow file at `path`; relative plugin paths resolve from its directory. Only a
/// regular file of at most [`MAX_WORKFLOW_BYTES`] is read (a FIFO or a device is refused
/// before it is opened). A file that cannot be read gives one diagnostic at line 0, column 0;
/// one that is not UTF-8 one at the line and column of the first invalid byte.
pub fn load_file(path: &Path) -> Result<LoadedWorkflow, Diagnostics> {
    let file_display = path.display().to_string();
    let diagnostic = |line, col, message: String| {
        Diagnostics(vec![Diagnostic {
            file: file_display.clone(),
            line,
            col,
            field: String::new(),
            message,
        }])
    };
    let source =
        input::read_text(path, MAX_WORKFLOW_BYTES, "the workflow file").map_err(|failure| {
            match failure {
                input::ReadFailure::Unreadable(message) => diagnostic(0, 0, message),
                input::ReadFailure::NotUtf8 { line, col } => diagnostic(
                    line,
                    col,
                    "the workflow is not valid UTF-8 (save it as UTF-8)".to_string(),
                ),
            }
        })?;
    let base_dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    load_str(&file_display, &base_dir, &source)
}

/// Reads a text file the user named (a task file): only a regular file (a FIFO or a device is
/// refused before it is opened), at most `limit` bytes, UTF-8 (a leading byte order mark is
/// dropped). The error says why in words, naming the line and column of invalid UTF-8; `what`
/// names the file in it ("the task file").
pub fn read_text_file(path: &Path, limit: u64, what: &str) -> Result<String, TextFileError> {
    match input::read_text(path, limit, what) {
        Ok(text) => Ok(input::strip_bom(&text).to_string()),
        Err(input::ReadFailure::Unreadable(message)) => Err(TextFileError::Unreadable(message)),
        Err(input::ReadFailure::NotUtf8 { line, col }) => Err(TextFileError::NotUtf8 {
            what: what.to_string(),
            line,
            col,
        }),
    }
}

/// Why [`read_text_file`] could not read a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextFileError {
    /// Missing, not a regular file, too large or unreadable: the message says which.
    #[error("{0}")]
    Unreadable(String),
    /// Not UTF-8: where the first invalid byte is.
    #[error("{what} is not valid UTF-8 (line {line}, column {col}); save it as UTF-8")]
    NotUtf8 {
        /// The file as the message names it ("the task file").
        what: String,
        /// 1-based line of the first invalid byte.
        line: usize,
        /// 1-based column of the first invalid byte.
        col: usize,
    },
}

fn locate_all(file: &str, spans: &SpanIndex, problems: &[Problem]) -> Diagnostics {
    Diagnostics::sorted(problems.iter().map(|p| p.locate(file, spans)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = include_str!("../tests/fixtures/valid/full.yaml");
    const CONDITIONS: &str = include_str!("../tests/fixtures/valid/conditions.yaml");

    /// Every prefix of real workflows (most of them broken YAML or broken workflows, with
    /// truncated conditions and templates) gives a result, never a panic.
    #[test]
    fn truncated_input_never_panics() {
        for source in [FULL, CONDITIONS] {
            let boundaries = source.char_indices().map(|(i, _)| i).chain([source.len()]);
            for end in boundaries {
                let prefix = &source[..end];
                if let Err(diagnostics) = load_str("t.yaml", Path::new("."), prefix) {
                    assert!(!diagnostics.0.is_empty());
                }
            }
        }
    }

    /// Every prefix of a condition and of a template is judged without a panic.
    #[test]
    fn truncated_expressions_never_panic() {
        let condition = "stages.triage.outputs.tier != 'none' && !('wip' in task.labels) && \
                         task.labels.exists(l, l.startsWith(\"x\")) || {'a': [1, 2.5]}['a'][0] == 1";
        let template =
            "{% for l in task.labels %}{{ l | upper }}{% endfor %}{{ stages.a.outputs }}";
        let scope = Scope::sample(
            ["triage", "a"],
            &std::collections::BTreeMap::default(),
            None,
        );
        for (i, _) in condition.char_indices() {
            let _ = evaluate_condition(&condition[..i], &scope);
        }
        for (i, _) in template.char_indices() {
            let with = serde_json::json!({"x": &template[..i]});
            let _ = render_config("s", &with, &scope);
        }
    }

    #[test]
    fn schema_and_semantic_problems_are_reported_together() {
        let source = "name: x\nstages:\n  a:\n    uses: builtin:gate\n    needs: [b]\n    timeut: 5m\n  b:\n    uses: builtin:gate\n    needs: [a]\n";
        let diagnostics = load_str("x.yaml", Path::new("."), source).unwrap_err();
        let text = diagnostics.to_string();
        assert!(
            text.contains("x.yaml:6:5: stages.a: unknown field \"timeut\""),
            "{text}"
        );
        assert!(text.contains("dependency cycle: a -> b -> a"), "{text}");
    }

    #[test]
    fn non_mapping_document_is_one_diagnostic() {
        let diagnostics = load_str("x.yaml", Path::new("."), "- a\n- b\n").unwrap_err();
        assert_eq!(
            diagnostics.to_string(),
            "x.yaml:1:1: a workflow must be a YAML mapping with at least \"name\" and \"stages\" (got a list)"
        );
    }

    #[test]
    fn anchors_load_and_aliases_are_located() {
        let source = "name: x\nstages:\n  a: &g { uses: builtin:gate, timeout: 1m }\n  b: *g\n";
        let loaded = load_str("x.yaml", Path::new("."), source).unwrap();
        assert_eq!(loaded.spec("b").map(|spec| spec.timeout_ms), Some(60_000));
        assert_eq!(loaded.span_of("stages.a.timeout"), (3, 40));
        // A node reached through an alias is at the alias (a mapping at its key).
        assert_eq!(loaded.span_of("stages.b"), (4, 3));
        assert_eq!(loaded.span_of("stages.b.timeout"), (4, 3));
    }
}
