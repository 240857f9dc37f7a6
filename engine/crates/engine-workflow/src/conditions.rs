//! `if:` conditions: CEL expressions (Common Expression Language, the `cel` crate) over
//! `task`, `run`, `stages` and `env`, with the functions `success()`, `failure()`,
//! `cancelled()` and `always()`. This module compiles and evaluates them for the driver;
//! [`crate::condition_check`] checks them at validate time.

use std::sync::{Arc, OnceLock};

use cel::common::ast::Expr;
use cel::{Context, Env, ExecutionError, IdedExpr, Program, Value as CelValue};

use crate::scope::{Scope, TerminalStatus};

/// The functions engine adds to CEL's standard library.
pub const CONDITION_FUNCTIONS: [&str; 4] = ["success", "failure", "cancelled", "always"];

/// Why a condition could not be evaluated. Every message names the expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    /// The expression is not valid CEL.
    #[error("condition `{expression}` is not a valid expression: {message}")]
    Syntax {
        /// The condition as written.
        expression: String,
        /// What the parser found.
        message: String,
    },
    /// Evaluating failed: a missing key (`stages.triage.outputs.tier` when the stage produced
    /// no `tier`), a type error, an unknown function...
    #[error("condition `{expression}` could not be evaluated: {message}")]
    Evaluation {
        /// The condition as written.
        expression: String,
        /// What went wrong.
        message: String,
    },
    /// The expression gave something other than true or false.
    #[error("condition `{expression}` must give true or false, but gave {got}")]
    NotBool {
        /// The condition as written.
        expression: String,
        /// The type and value it gave.
        got: String,
    },
}

/// Evaluates the condition `source` in `scope`: `Ok(true)` when the stage should run.
///
/// In a stage of the run (`scope.terminal` is `None`) `success()` is true and `failure()` and
/// `cancelled()` are false: the stage only gets this far because its `needs` are done. In a
/// `finally:` stage they tell how the run ended (`failure()` is true for a failed run and for
/// one that needs attention). `always()` is always true.
pub fn evaluate_condition(source: &str, scope: &Scope) -> Result<bool, ExprError> {
    let program = compile(source).map_err(|errors| ExprError::Syntax {
        expression: source.to_string(),
        message: errors
            .first()
            .map_or_else(|| "syntax error".to_string(), ToString::to_string),
    })?;
    let context = context(scope).map_err(|message| ExprError::Evaluation {
        expression: source.to_string(),
        message,
    })?;
    match program.execute(&context) {
        Ok(CelValue::Bool(value)) => Ok(value),
        Ok(other) => Err(ExprError::NotBool {
            expression: source.to_string(),
            got: describe_value(&other),
        }),
        Err(error) => Err(ExprError::Evaluation {
            expression: source.to_string(),
            message: describe_error(&error, program.expression()),
        }),
    }
}

/// A syntax error, with where it is in the expression (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// Line of the expression (1 for a one-line expression).
    pub(crate) line: usize,
    /// Character on that line.
    pub(crate) column: usize,
    /// What the parser says.
    pub(crate) message: String,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line <= 1 {
            write!(f, "{} (at character {})", self.message, self.column)
        } else {
            write!(
                f,
                "{} (at line {}, character {} of the expression)",
                self.message, self.line, self.column
            )
        }
    }
}

/// CEL's standard library plus the string extension (`lowerAscii`, `split`, `trim`...).
pub(crate) fn cel_env() -> Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Env::stdlib();
        // Only fails when a name is declared twice, which a fresh stdlib never does; without the
        // extension the standard library still works.
        let _ = env.add_extension(cel::extensions::strings);
        Arc::new(env)
    })
    .clone()
}

/// Parses `source`.
pub(crate) fn compile(source: &str) -> Result<Program, Vec<SyntaxError>> {
    cel_env().compile(source).map_err(|errors| {
        errors
            .errors
            .iter()
            .map(|e| SyntaxError {
                line: usize::try_from(e.pos.0).unwrap_or(1).max(1),
                column: usize::try_from(e.pos.1).unwrap_or(1).max(1),
                message: parser_message(&e.msg),
            })
            .collect()
    })
}

/// The parser's message without its prefix and without ANTLR's long list of expected tokens.
fn parser_message(raw: &str) -> String {
    let text = raw.strip_prefix("Syntax error: ").unwrap_or(raw);
    let head = match text.split_once(" expecting {") {
        Some((head, _)) => head,
        None => text,
    };
    match head {
        "mismatched input '<EOF>'" => "the expression ends too early".to_string(),
        other => other.to_string(),
    }
}

/// An evaluation context with the scope's variables and engine's functions.
pub(crate) fn context(scope: &Scope) -> Result<Context<'static, 'static>, String> {
    let mut context = Context::with_env(cel_env());
    for (name, value) in [
        ("task", &scope.task),
        ("run", &scope.run),
        ("stages", &scope.stages),
        ("env", &scope.env),
    ] {
        context
            .add_variable(name, value.clone())
            .map_err(|e| format!("cannot use `{name}` in an expression: {e}"))?;
    }
    let terminal = scope.terminal;
    let success = terminal.is_none_or(|t| t == TerminalStatus::Succeeded);
    let failure = matches!(
        terminal,
        Some(TerminalStatus::Failed | TerminalStatus::NeedsAttention)
    );
    let cancelled = terminal == Some(TerminalStatus::Cancelled);
    let declared = [
        context.add_function("success", move || success),
        context.add_function("failure", move || failure),
        context.add_function("cancelled", move || cancelled),
        context.add_function("always", || true),
    ];
    for result in declared {
        result.map_err(|e| format!("internal error: {e}"))?;
    }
    Ok(context)
}

/// A value's CEL type and, for scalars, the value: `a string ("x")`, `a list`.
pub(crate) fn describe_value(value: &CelValue) -> String {
    match value {
        CelValue::String(s) => format!("a string (\"{s}\")"),
        CelValue::Int(i) => format!("an int ({i})"),
        CelValue::UInt(u) => format!("a uint ({u})"),
        CelValue::Float(f) => format!("a double ({f})"),
        CelValue::Null => "null".to_string(),
        other => a(&other.type_of().to_string()),
    }
}

/// A type name with its article: `an int`, `a string`.
pub(crate) fn a(type_name: &str) -> String {
    let vowel = type_name.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {type_name}", if vowel { "an" } else { "a" })
}

/// An operator as written (`_+_` is `+`).
fn operator(name: &str) -> &str {
    match name {
        "_+_" | "add" => "+",
        "_-_" | "-_" | "sub" => "-",
        "_*_" | "mul" => "*",
        "_/_" | "div" => "/",
        "_%_" | "rem" => "%",
        "_==_" => "==",
        "_!=_" => "!=",
        "_<_" => "<",
        "_<=_" => "<=",
        "_>_" => ">",
        "_>=_" => ">=",
        "_&&_" => "&&",
        "_||_" => "||",
        "!_" => "!",
        "_[_]" => "[]",
        "@in" => "in",
        other => other,
    }
}

/// An evaluation error in words; a missing key is named by the path it was looked up through.
pub(crate) fn describe_error(error: &ExecutionError, expression: &IdedExpr) -> String {
    match error {
        ExecutionError::NoSuchKey(key) => match select_path(expression, key) {
            Some(path) => format!("`{path}` does not exist (no key \"{key}\")"),
            None => format!("no key \"{key}\""),
        },
        ExecutionError::UndeclaredReference(name) => {
            format!("unknown variable or function \"{name}\"")
        }
        ExecutionError::NoSuchOverload(overload) => {
            let types = overload.argument_types();
            let name = overload.function();
            let op = operator(name);
            match types {
                [left, right] if op != name => {
                    format!("`{op}` cannot be applied to {} and {}", a(left), a(right))
                }
                _ => format!(
                    "{} cannot be applied to ({})",
                    if op == name {
                        format!("{name}()")
                    } else {
                        format!("`{op}`")
                    },
                    types.join(", ")
                ),
            }
        }
        ExecutionError::UnsupportedBinaryOperator(op, left, right) => format!(
            "`{}` cannot be applied to {} and {}",
            operator(op),
            a(&left.type_of().to_string()),
            a(&right.type_of().to_string())
        ),
        ExecutionError::ValuesNotComparable(left, right) => format!(
            "{} cannot be compared with {}",
            a(&left.type_of().to_string()),
            a(&right.type_of().to_string())
        ),
        ExecutionError::UnexpectedType { got, want } => {
            format!("expected {}, got {}", a(want), a(got))
        }
        ExecutionError::UnsupportedIndex(index, target) => format!(
            "{} cannot be indexed with {}",
            a(&target.type_of().to_string()),
            a(&index.type_of().to_string())
        ),
        other => other.to_string(),
    }
}

/// The dotted path (`stages.triage.outputs.tier`) of the first field selection of `key` in
/// `expression`, when it is a plain chain of names.
fn select_path(expression: &IdedExpr, key: &str) -> Option<String> {
    let mut found = None;
    visit(expression, &mut |node| {
        if found.is_none()
            && let Expr::Select(select) = &node.expr
            && select.field == key
        {
            found = dotted(node);
        }
    });
    found
}

/// `a.b.c` for a chain of field selections on a name.
pub(crate) fn dotted(node: &IdedExpr) -> Option<String> {
    match &node.expr {
        Expr::Ident(name) => Some(name.clone()),
        Expr::Select(select) if !select.test => {
            Some(format!("{}.{}", dotted(&select.operand)?, select.field))
        }
        _ => None,
    }
}

/// Calls `f` on every node of `expression`, parents first.
pub(crate) fn visit(expression: &IdedExpr, f: &mut impl FnMut(&IdedExpr)) {
    f(expression);
    match &expression.expr {
        Expr::Call(call) => {
            if let Some(target) = &call.target {
                visit(target, f);
            }
            call.args.iter().for_each(|a| visit(a, f));
        }
        Expr::Select(select) => visit(&select.operand, f),
        Expr::List(list) => list.elements.iter().for_each(|e| visit(e, f)),
        Expr::Map(map) => map.entries.iter().for_each(|entry| {
            if let cel::common::ast::EntryExpr::MapEntry(e) = &entry.expr {
                visit(&e.key, f);
                visit(&e.value, f);
            }
        }),
        Expr::Comprehension(c) => {
            for part in [
                &c.iter_range,
                &c.accu_init,
                &c.loop_cond,
                &c.loop_step,
                &c.result,
            ] {
                visit(part, f);
            }
        }
        Expr::Struct(_) | Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope(terminal: Option<TerminalStatus>) -> Scope {
        let mut scope = Scope::sample(
            ["triage", "review"],
            &std::collections::BTreeMap::default(),
            terminal,
        );
        scope.stages = json!({
            "triage": {"result": "succeeded", "outputs": {"tier": "smart", "files": 3}},
            "review": {"result": "skipped", "outputs": {}},
        });
        scope.task = json!({"id": "T-1", "title": "Fix the docs", "body": "", "labels": ["docs"]});
        scope.env = json!({"DEPLOY": "yes"});
        scope
    }

    fn eval(source: &str) -> Result<bool, ExprError> {
        evaluate_condition(source, &scope(None))
    }

    #[test]
    fn true_and_false() {
        assert_eq!(eval("stages.triage.outputs.tier == 'smart'"), Ok(true));
        assert_eq!(eval("stages.triage.outputs.files > 5"), Ok(false));
        assert_eq!(eval("stages.review.result == 'skipped'"), Ok(true));
        assert_eq!(
            eval("'docs' in task.labels && env.DEPLOY == 'yes'"),
            Ok(true)
        );
        assert_eq!(eval("task.labels.exists(l, l.startsWith('do'))"), Ok(true));
        assert_eq!(eval("task.title.lowerAscii().contains('docs')"), Ok(true));
        assert_eq!(eval("run.stalled"), Ok(false));
        assert_eq!(
            eval("has(stages.triage.outputs.risk) && stages.triage.outputs.risk == 'high'"),
            Ok(false)
        );
    }

    #[test]
    fn status_functions_in_a_stage_of_the_run() {
        assert_eq!(eval("success() && always()"), Ok(true));
        assert_eq!(eval("failure() || cancelled()"), Ok(false));
    }

    #[test]
    fn status_functions_in_finally() {
        let check = |terminal, source| evaluate_condition(source, &scope(Some(terminal)));
        assert_eq!(check(TerminalStatus::Succeeded, "success()"), Ok(true));
        assert_eq!(check(TerminalStatus::Succeeded, "failure()"), Ok(false));
        assert_eq!(check(TerminalStatus::Failed, "failure()"), Ok(true));
        assert_eq!(check(TerminalStatus::Failed, "success()"), Ok(false));
        assert_eq!(check(TerminalStatus::NeedsAttention, "failure()"), Ok(true));
        assert_eq!(check(TerminalStatus::Cancelled, "cancelled()"), Ok(true));
        assert_eq!(check(TerminalStatus::Cancelled, "failure()"), Ok(false));
        assert_eq!(check(TerminalStatus::Failed, "always()"), Ok(true));
    }

    #[test]
    fn a_missing_output_is_an_error_naming_it() {
        let error = eval("stages.triage.outputs.risk == 'high'").unwrap_err();
        assert_eq!(
            error.to_string(),
            "condition `stages.triage.outputs.risk == 'high'` could not be evaluated: \
             `stages.triage.outputs.risk` does not exist (no key \"risk\")"
        );
    }

    #[test]
    fn invalid_conditions() {
        assert_eq!(
            eval("task.title"),
            Err(ExprError::NotBool {
                expression: "task.title".into(),
                got: "a string (\"Fix the docs\")".into()
            })
        );
        let syntax = eval("task.title ==").unwrap_err();
        assert!(
            matches!(&syntax, ExprError::Syntax { message, .. } if message.contains("(at character 14)")),
            "{syntax}"
        );
        assert_eq!(
            eval("1 + 'a' == 2").unwrap_err().to_string(),
            "condition `1 + 'a' == 2` could not be evaluated: `+` cannot be applied to an int \
             and a string"
        );
        assert!(
            eval("frob()")
                .unwrap_err()
                .to_string()
                .contains("unknown variable or function \"frob\""),
        );
    }
}
