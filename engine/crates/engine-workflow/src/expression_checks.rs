//! Applies the condition and template checks to every stage of a workflow (`stages:` and
//! `finally:`), locating each problem at the `if:` value or the templated `with:` value.

use std::collections::{BTreeMap, HashMap, HashSet};

use engine_core::Stage;

use crate::condition_check::{ConditionSite, check_condition};
use crate::diagnostic::Problem;
use crate::field_path::FieldPath;
use crate::resolve::Resolved;
use crate::stage_spec::StageSpec;
use crate::template_check::{TemplateSite, check_template, templated_strings};

/// Adds a problem for every invalid `if:` and templated `with:` value of the stages of
/// `resolved`.
pub(crate) fn check(resolved: &Resolved, problems: &mut Vec<Problem>) {
    let workflow = &resolved.workflow;
    let env = &resolved.env;
    let stage_ids: Vec<&str> = workflow.stages.iter().map(|s| s.id.as_str()).collect();
    let by_id: HashMap<&str, &Stage> = workflow.stages.iter().map(|s| (s.id.as_str(), s)).collect();
    for (stage, spec) in workflow.stages.iter().zip(&resolved.stage_specs) {
        // Only templates read `readable`: a stage without any costs nothing here, so a long
        // chain of plain stages is checked in linear time.
        let readable = if templated_strings(&spec.with).is_empty() {
            Vec::new()
        } else {
            needed_by(stage, &by_id)
        };
        let path = FieldPath::keys(&["stages", &stage.id]);
        check_stage(
            &stage.id,
            spec,
            &path,
            &stage_ids,
            Some(&readable),
            env,
            problems,
        );
    }
    for (stage, spec) in workflow.finally.iter().zip(&resolved.finally_specs) {
        let path = FieldPath::keys(&["finally", &stage.id]);
        check_stage(&stage.id, spec, &path, &stage_ids, None, env, problems);
    }
}

fn check_stage(
    stage_id: &str,
    spec: &StageSpec,
    path: &FieldPath,
    stage_ids: &[&str],
    readable: Option<&[&str]>,
    env: &BTreeMap<String, String>,
    problems: &mut Vec<Problem>,
) {
    if let Some(condition) = &spec.condition {
        let site = ConditionSite {
            stage_ids,
            env,
            in_finally: readable.is_none(),
        };
        for message in check_condition(condition, &site) {
            problems.push(Problem::at(path.key("if"), message));
        }
    }
    let site = TemplateSite {
        stage_id,
        stage_ids,
        readable,
        secrets: &spec.secrets,
        env,
    };
    let with_path = path.key("with");
    let plugin_rendered = crate::templates::plugin_checked_fields(&spec.uses);
    for (field, text) in templated_strings(&spec.with) {
        let pointer = field.pointer();
        let top = pointer
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default();
        if plugin_rendered.contains(&top) {
            // The plugin's own variables: only the syntax is engine's to check.
            problems.extend(
                crate::template_check::check_syntax(text)
                    .map(|message| Problem::at(with_path.join(&field), message)),
            );
            continue;
        }
        for message in check_template(text, &site) {
            problems.push(Problem::at(with_path.join(&field), message));
        }
    }
}

/// The ids of the stages `stage` needs, directly or transitively (unknown names and cycles
/// are tolerated: the graph checks report them).
fn needed_by<'a>(stage: &Stage, by_id: &HashMap<&str, &'a Stage>) -> Vec<&'a str> {
    let mut seen: HashSet<&'a str> = HashSet::new();
    let mut order: Vec<&'a str> = Vec::new();
    let mut pending: Vec<&str> = stage.needs.iter().map(String::as_str).collect();
    while let Some(name) = pending.pop() {
        let Some(found) = by_id.get(name) else {
            continue;
        };
        if !seen.insert(found.id.as_str()) {
            continue;
        }
        order.push(found.id.as_str());
        pending.extend(found.needs.iter().map(String::as_str));
    }
    order
}
