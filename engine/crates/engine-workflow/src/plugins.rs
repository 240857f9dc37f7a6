//! Checks that need the stages' components: the host loads each plugin and reports what it
//! declares; this module turns load failures, `with:` configs that break the plugin's config
//! schema, and permission shortfalls into located diagnostics.

use std::collections::HashMap;
use std::fmt::Display;

use engine_core::Permissions;
use jsonschema::Validator;
use jsonschema::error::ValidationErrorKind;

use crate::diagnostic::{Diagnostic, Diagnostics, Problem};
use crate::field_path::FieldPath;
use crate::loaded::LoadedWorkflow;
use crate::schema_messages::{SchemaOwner, problems_for};
use crate::stage_spec::{StageDef, StageSpec};
use crate::template_check::{keeps_type, templated_strings};

/// What a stage's plugin declares in `describe()`, as far as validation needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginInfo {
    /// JSON Schema of the plugin's `with:` config.
    pub config_schema: serde_json::Value,
    /// Permissions the plugin asks for.
    pub permissions: Permissions,
}

impl LoadedWorkflow {
    /// The stages that run a component, the host must load a plugin for: those of `stages:`
    /// then those of `finally:`, in file order, without approval stages (`builtin:approval`
    /// waits for a human and has no component).
    pub fn component_stages(&self) -> impl Iterator<Item = StageDef<'_>> {
        self.stage_defs()
            .chain(self.finally_defs())
            .filter(|def| def.stage.approval.is_none())
    }

    /// Checks every stage of [`LoadedWorkflow::component_stages`] against its plugin.
    /// `info(def)` returns the plugin's descriptor info, or the error (shown in the
    /// diagnostic) when the plugin could not be loaded (unknown builtin, missing file, sha256
    /// mismatch, incompatible component). Templated `with:` values are only checked as far as their rendered type
    /// is known: a string that is exactly one `{{ expression }}` may become any type, other
    /// templates become strings of unknown content. Returns the diagnostics in source order;
    /// empty when every stage fits its plugin.
    pub fn check_plugins<E: Display>(
        &self,
        mut info: impl FnMut(StageDef<'_>) -> Result<PluginInfo, E>,
    ) -> Vec<Diagnostic> {
        let mut problems = Vec::new();
        // Stages that use the same plugin share one compiled config schema.
        let mut validators: Validators = HashMap::new();
        let stages = self
            .stage_defs()
            .map(|def| ("stages", def))
            .chain(self.finally_defs().map(|def| ("finally", def)))
            .filter(|(_, def)| def.stage.approval.is_none());
        for (section, def) in stages {
            let stage_path = FieldPath::keys(&[section, &def.stage.id]);
            match info(def) {
                Err(why) => problems.push(Problem::at(
                    stage_path.key("uses"),
                    format!("cannot load plugin \"{}\": {why}", def.spec.uses),
                )),
                Ok(plugin) => {
                    check_config(
                        def.spec,
                        &plugin,
                        &stage_path,
                        &mut validators,
                        &mut problems,
                    );
                    check_permissions(self, def, &plugin, &stage_path, &mut problems);
                }
            }
        }
        let located = problems
            .iter()
            .map(|p| p.locate(&self.file, &self.spans))
            .collect();
        Diagnostics::sorted(located).0
    }
}

/// Compiled config schemas by their text, or why one does not compile.
type Validators = HashMap<String, Result<Validator, jsonschema::ValidationError<'static>>>;

fn check_config(
    spec: &StageSpec,
    plugin: &PluginInfo,
    stage_path: &FieldPath,
    validators: &mut Validators,
    problems: &mut Vec<Problem>,
) {
    let key = plugin.config_schema.to_string();
    let compiled = validators
        .entry(key)
        .or_insert_with(|| jsonschema::validator_for(&plugin.config_schema));
    match compiled {
        Err(why) => problems.push(Problem::at(
            stage_path.key("uses"),
            format!(
                "plugin \"{}\" declares an invalid config schema: {why}",
                spec.uses
            ),
        )),
        Ok(validator) => {
            let with_path = stage_path.key("with");
            // Templated values: pointer -> whether the rendered value may have any type.
            let templated: HashMap<String, bool> = templated_strings(&spec.with)
                .into_iter()
                .map(|(path, text)| (path.pointer(), keeps_type(text)))
                .collect();
            for error in validator.iter_errors(&spec.with) {
                if let Some(&any_type) = templated.get(error.instance_path().as_str()) {
                    // Only a type error about a template that always gives a string is certain.
                    let is_type_error = matches!(error.kind(), ValidationErrorKind::Type { .. });
                    if any_type || !is_type_error {
                        continue;
                    }
                }
                problems.extend(problems_for(
                    &error,
                    &plugin.config_schema,
                    &spec.with,
                    &with_path,
                    SchemaOwner::Plugin,
                ));
            }
        }
    }
}

fn check_permissions(
    loaded: &LoadedWorkflow,
    def: StageDef<'_>,
    plugin: &PluginInfo,
    stage_path: &FieldPath,
    problems: &mut Vec<Problem>,
) {
    let missing = def.spec.permissions.shortfall(&plugin.permissions);
    if missing.is_empty() {
        return;
    }
    let permissions_path = stage_path.key("permissions");
    let field = if loaded.has_field(&permissions_path) {
        permissions_path
    } else {
        stage_path.clone()
    };
    let it = if missing.len() == 1 { "it" } else { "them" };
    problems.push(Problem::at(
        field,
        format!(
            "stage \"{}\" ({}) needs {}, which the workflow does not grant; add {it} under permissions",
            def.stage.id,
            def.spec.uses,
            missing.join(", ")
        ),
    ));
}
