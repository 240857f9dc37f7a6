//! Validate-time checks of `if:` conditions: syntax, unknown variables, fields, stages and
//! functions (found by walking the expression), then type errors found by evaluating it over a
//! typed sample of the run (every stage succeeded, no outputs). Missing output keys are not
//! reported: outputs are only known at run time.

use std::collections::BTreeMap;

use cel::common::ast::{EntryExpr, Expr, SourceInfo};
use cel::{Context, ExecutionError, IdedExpr, Value as CelValue};

use crate::conditions::{
    CONDITION_FUNCTIONS, a, cel_env, compile, context, describe_error, dotted,
};
use crate::scope::{CONDITION_ROOTS, RUN_FIELDS, STAGE_FIELDS, Scope, TASK_FIELDS, TerminalStatus};
use crate::suggest::{closest, unknown_among, unknown_stage};

/// What a condition may refer to where it is written.
pub(crate) struct ConditionSite<'a> {
    /// Ids of the workflow's stages (the `stages:` section).
    pub(crate) stage_ids: &'a [&'a str],
    /// The workflow's `env:`.
    pub(crate) env: &'a BTreeMap<String, String>,
    /// Whether the condition is a `finally:` stage's.
    pub(crate) in_finally: bool,
}

/// Every problem with the condition `source`, as messages.
pub(crate) fn check_condition(source: &str, site: &ConditionSite<'_>) -> Vec<String> {
    let program = match compile(source) {
        Ok(program) => program,
        // Later errors are mostly consequences of the first one.
        Err(errors) => {
            return errors
                .first()
                .map(|e| format!("not a valid expression: {e}"))
                .into_iter()
                .collect();
        }
    };
    let mut walk = Walk {
        site,
        info: program.source_info(),
        bound: Vec::new(),
        found: Vec::new(),
    };
    walk.node(program.expression());
    if !walk.found.is_empty() {
        return walk.found;
    }
    let terminal = site.in_finally.then_some(TerminalStatus::Succeeded);
    let scope = Scope::sample(site.stage_ids.iter().copied(), site.env, terminal);
    let context = match context(&scope) {
        Ok(context) => context,
        Err(message) => return vec![message],
    };
    match program.execute(&context) {
        Ok(CelValue::Bool(_)) => Vec::new(),
        Ok(other) => vec![format!(
            "a condition must give true or false, but this one gives {} (compare it, e.g. `== \
             \"...\"`)",
            a(&other.type_of().to_string())
        )],
        Err(error) if is_type_error(&error) => vec![format!(
            "type error: {}",
            describe_error(&error, program.expression())
        )],
        // Errors that depend on the values (missing output keys, division by zero...) can only
        // be judged at run time.
        Err(_) => Vec::new(),
    }
}

/// Errors that do not depend on the values of the run, only on their types.
fn is_type_error(error: &ExecutionError) -> bool {
    matches!(
        error,
        ExecutionError::NoSuchOverload(_)
            | ExecutionError::UnsupportedBinaryOperator(..)
            | ExecutionError::ValuesNotComparable(..)
            | ExecutionError::UnexpectedType { .. }
            | ExecutionError::UnsupportedIndex(..)
            | ExecutionError::UnsupportedKeyType(_)
            | ExecutionError::UnsupportedTargetType { .. }
            | ExecutionError::NotSupportedAsMethod { .. }
            | ExecutionError::InvalidArgumentCount { .. }
            | ExecutionError::MissingArgumentOrTarget
            | ExecutionError::UndeclaredReference(_)
    )
}

/// The standard macros, which only expand when written with the right arguments.
const MACROS: [(&str, &str); 6] = [
    ("has", "has(a.b)"),
    ("all", "list.all(x, predicate)"),
    ("exists", "list.exists(x, predicate)"),
    ("exists_one", "list.exists_one(x, predicate)"),
    ("map", "list.map(x, expression)"),
    ("filter", "list.filter(x, predicate)"),
];

/// Common functions, for "did you mean" suggestions.
const COMMON_FUNCTIONS: [&str; 12] = [
    "size",
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "lowerAscii",
    "upperAscii",
    "trim",
    "split",
    "int",
    "string",
    "double",
];

struct Walk<'a> {
    site: &'a ConditionSite<'a>,
    info: &'a SourceInfo,
    /// Names bound by the comprehensions around the current node.
    bound: Vec<String>,
    found: Vec<String>,
}

impl Walk<'_> {
    fn node(&mut self, node: &IdedExpr) {
        match &node.expr {
            Expr::Ident(name) => {
                self.root(name, node.id);
            }
            Expr::Select(_) => self.select_chain(node),
            Expr::Call(call) => {
                self.function(&call.func_name, node.id);
                if let Some(target) = &call.target {
                    // `optional.of(x)`: a namespace, not a variable.
                    if !matches!(&target.expr, Expr::Ident(n) if n == "optional") {
                        self.node(target);
                    }
                }
                call.args.iter().for_each(|arg| self.node(arg));
            }
            Expr::Comprehension(c) => {
                self.node(&c.iter_range);
                self.node(&c.accu_init);
                let depth = self.bound.len();
                self.bound.push(c.iter_var.clone());
                self.bound.extend(c.iter_var2.clone());
                self.bound.push(c.accu_var.clone());
                self.node(&c.loop_cond);
                self.node(&c.loop_step);
                self.node(&c.result);
                self.bound.truncate(depth);
            }
            Expr::List(list) => list.elements.iter().for_each(|e| self.node(e)),
            Expr::Map(map) => {
                for entry in &map.entries {
                    if let EntryExpr::MapEntry(e) = &entry.expr {
                        self.node(&e.key);
                        self.node(&e.value);
                    }
                }
            }
            Expr::Struct(s) => {
                for entry in &s.entries {
                    if let EntryExpr::StructField(field) = &entry.expr {
                        self.node(&field.value);
                    }
                }
            }
            Expr::Literal(_) | Expr::Unspecified => {}
        }
    }

    /// ` (at character N)` for the node `id`, `shift` characters after where CEL puts it (the
    /// start of a name, the dot before a field, the parenthesis after a function's name).
    fn at(&self, id: u64, shift: i64) -> String {
        match self.info.offset_for(id) {
            Some((start, _)) => format!(" (at character {})", (i64::from(start) + shift).max(1)),
            None => String::new(),
        }
    }

    /// Checks a root name; true when it is one of the condition variables.
    fn root(&mut self, name: &str, id: u64) -> bool {
        if self.bound.iter().any(|b| b == name) || name.starts_with('@') {
            return false;
        }
        if CONDITION_ROOTS.contains(&name) {
            return true;
        }
        if is_type_name(name) {
            return false;
        }
        let at = self.at(id, 1);
        let message = if name == "secrets" {
            format!(
                "conditions cannot see secrets{at}: only templates in `with:` can, through \
                 {{{{ secrets.NAME }}}}"
            )
        } else {
            let hint = closest(name, CONDITION_ROOTS)
                .map(|near| format!("did you mean \"{near}\"? "))
                .unwrap_or_default();
            format!(
                "unknown variable \"{name}\"{at} ({hint}variables: {})",
                CONDITION_ROOTS.join(", ")
            )
        };
        self.found.push(message);
        false
    }

    fn select_chain(&mut self, node: &IdedExpr) {
        // (field, node id, presence test) from the root outwards.
        let mut fields = Vec::new();
        let mut current = node;
        while let Expr::Select(select) = &current.expr {
            fields.push((select.field.as_str(), current.id, select.test));
            current = &select.operand;
        }
        fields.reverse();
        match &current.expr {
            Expr::Ident(root) => {
                if self.root(root, current.id) {
                    self.fields(root, &fields);
                }
            }
            _ => self.node(current),
        }
    }

    /// Checks the fields selected on a condition variable, as far as they are known before the
    /// run: `task.*`, `run.*`, `env.*`, `stages.<id>.<outputs|result>`. A field under `has()`
    /// may be missing.
    fn fields(&mut self, root: &str, fields: &[(&str, u64, bool)]) {
        let Some(&(first, first_id, _)) = fields.first() else {
            return;
        };
        let is_last_test = |position: usize| position + 1 == fields.len() && fields[position].2;
        let env_names: Vec<&str> = self.site.env.keys().map(String::as_str).collect();
        let known: &[&str] = match root {
            "task" => &TASK_FIELDS,
            "run" => &RUN_FIELDS,
            "env" => &env_names,
            _ => self.site.stage_ids,
        };
        if !is_last_test(0) && !known.contains(&first) {
            let at = self.at(first_id, 2);
            let message = match root {
                "stages" => unknown_stage(first, self.site.stage_ids, &at),
                "env" => unknown_among(
                    &format!("the workflow's env: has no variable \"{first}\"{at}"),
                    first,
                    known,
                    "env",
                ),
                _ => unknown_among(
                    &format!("`{root}` has no field \"{first}\"{at}"),
                    first,
                    known,
                    "fields",
                ),
            };
            self.found.push(message);
            return;
        }
        if root == "stages"
            && let Some(&(second, second_id, _)) = fields.get(1)
            && !is_last_test(1)
            && !STAGE_FIELDS.contains(&second)
        {
            let at = self.at(second_id, 2);
            self.found.push(unknown_among(
                &format!("`stages.{first}` has no field \"{second}\"{at}"),
                second,
                &STAGE_FIELDS,
                "fields",
            ));
        }
    }

    fn function(&mut self, name: &str, id: u64) {
        let is_operator = !name.starts_with(|c: char| c.is_ascii_alphabetic());
        if is_operator || CONDITION_FUNCTIONS.contains(&name) || is_library_function(name) {
            return;
        }
        let length = i64::try_from(name.chars().count()).unwrap_or(0);
        let at = self.at(id, 1 - length);
        let message = if let Some((_, form)) = MACROS.iter().find(|(m, _)| *m == name) {
            format!("\"{name}\" is written {form}{at}")
        } else {
            let candidates = CONDITION_FUNCTIONS.iter().chain(&COMMON_FUNCTIONS);
            let hint = closest(name, candidates.copied())
                .map(|near| format!("; did you mean \"{near}\"?"))
                .unwrap_or_default();
            format!(
                "unknown function \"{name}\"{at}{hint} (engine adds {}() to CEL's standard \
                 library)",
                CONDITION_FUNCTIONS.join("(), ")
            )
        };
        self.found.push(message);
    }
}

/// Whether `name` is a type of CEL's (`int`, `string`, `list`...), which an expression may
/// name (`type(x) == int`).
fn is_type_name(name: &str) -> bool {
    let context = Context::with_env(cel_env());
    compile(name).is_ok_and(|program| {
        dotted(program.expression()).is_some() && program.execute(&context).is_ok()
    })
}

/// Whether CEL's standard library (with the strings extension) declares the function `name`.
fn is_library_function(name: &str) -> bool {
    let mut probe = Context::with_env(cel_env());
    probe.add_function(name, || true).is_err()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(source: &str) -> Vec<String> {
        check_in(source, false)
    }

    fn check_in(source: &str, in_finally: bool) -> Vec<String> {
        let env = BTreeMap::from([("DEPLOY".to_string(), "yes".to_string())]);
        let site = ConditionSite {
            stage_ids: &["triage", "execute", "review"],
            env: &env,
            in_finally,
        };
        check_condition(source, &site)
    }

    #[test]
    fn valid_conditions_have_no_problems() {
        for source in [
            "stages.triage.outputs.tier == 'genius'",
            "stages.review.result != 'skipped' && !run.stalled",
            "'docs' in task.labels || task.title.startsWith('docs:')",
            "task.labels.exists(l, l == 'bug') && size(task.body) > 10",
            "has(stages.triage.outputs.risk) && stages.triage.outputs.risk == 'low'",
            "env.DEPLOY == 'yes' && has(env.OTHER)",
            "type(run.id) == string",
            "success() && !failure() && !cancelled() && always()",
            "task.title.lowerAscii().matches('^fix')",
            "run.duration_ms > 60000 && run.cost_usd < 2.0 && stages.execute.attempts > 1",
            "run.failed_stage == 'test' || run.branch.startsWith('engine/')",
            // The examples of docs/workflow-reference.md.
            "stages.triage.outputs.tier != 'primitive'",
            "'docs' in task.labels && !run.stalled",
            "has(stages.review.outputs.findings) && size(stages.review.outputs.findings) > 0",
            "task.title.lowerAscii().startsWith('fix')",
            "stages.review.summary != '' && stages.review.attempts < 3u",
        ] {
            assert_eq!(check(source), Vec::<String>::new(), "{source}");
        }
        assert_eq!(
            check_in("failure() || run.status == 'failed'", true),
            Vec::<String>::new()
        );
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let found = check("stages.triage.result ==");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0],
            "not a valid expression: the expression ends too early (at character 24)"
        );
        assert_eq!(
            check("task.title = 'x'"),
            vec!["not a valid expression: token recognition error at: '= ' (at character 12)"]
        );
    }

    #[test]
    fn unknown_names() {
        assert_eq!(
            check("stage.triage.result == 'x'"),
            vec![
                "unknown variable \"stage\" (at character 1) (did you mean \"stages\"? variables: \
                 task, run, stages, env)"
            ]
        );
        assert_eq!(
            check("stages.triag.result == 'x'"),
            vec!["unknown stage \"triag\" (at character 8); did you mean \"triage\"?"]
        );
        assert_eq!(
            check("stages.deploy.result == 'x'"),
            vec!["unknown stage \"deploy\" (at character 8) (stages: triage, execute, review)"]
        );
        assert_eq!(
            check("stages.triage.output.tier == 'x'"),
            vec![
                "`stages.triage` has no field \"output\" (at character 15) (did you mean \
                 \"outputs\"? fields: outputs, result, summary, attempts)"
            ]
        );
        assert_eq!(
            check("task.titel == 'x'"),
            vec![
                "`task` has no field \"titel\" (at character 6) (did you mean \"title\"? fields: \
                 id, title, body, labels)"
            ]
        );
        assert_eq!(
            check("env.DEPLOI == 'x'"),
            vec![
                "the workflow's env: has no variable \"DEPLOI\" (at character 5) (did you mean \
                 \"DEPLOY\"? env: DEPLOY)"
            ]
        );
        assert!(check("secrets.TOKEN == ''")[0].starts_with("conditions cannot see secrets"));
    }

    #[test]
    fn unknown_functions() {
        let found = check("succes()");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("unknown function \"succes\" (at character 1)"),
            "{found:?}"
        );
        assert!(found[0].contains("did you mean \"success\"?"), "{found:?}");
        assert!(check("task.labels.exists('x')")[0].contains("list.exists(x, predicate)"));
    }

    #[test]
    fn type_errors_from_a_trial_evaluation() {
        assert_eq!(
            check("task.title"),
            vec![
                "a condition must give true or false, but this one gives a string (compare it, \
                 e.g. `== \"...\"`)"
            ]
        );
        assert_eq!(
            check("1 + 'a' == 2"),
            vec!["type error: `+` cannot be applied to an int and a string"]
        );
        assert_eq!(
            check("task.labels > 3"),
            vec!["type error: `>` cannot be applied to a list and an int"]
        );
        assert_eq!(check("size(run.stalled) > 0").len(), 1);
    }

    #[test]
    fn outputs_are_not_judged_before_the_run() {
        assert_eq!(
            check("stages.execute.outputs.anything > 3"),
            Vec::<String>::new()
        );
        assert_eq!(
            check("stages.execute.outputs.list[0] == 'x'"),
            Vec::<String>::new()
        );
    }
}
