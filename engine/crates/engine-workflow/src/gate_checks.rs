//! Checks of `builtin:gate` stages made at load time, so `engine validate` refuses what the gate
//! would refuse when it runs: every program a command starts must be granted under the stage's
//! `permissions.exec` (the host compares the program exactly as written), and `baseline: true`
//! needs `git` there too. A command whose program is a template (`{{ ... }}`) is left to the
//! gate: its program is only known when the stage starts.

use serde_json::{Map, Value};

use crate::diagnostic::Problem;
use crate::field_path::FieldPath;
use crate::templates::is_template;

/// The gate's `uses:`.
const GATE: &str = "builtin:gate";

/// Adds a problem for every gate command whose program the stage is not granted.
pub(crate) fn check(document: &Value, problems: &mut Vec<Problem>) {
    let empty = Map::new();
    let root = document.as_object().unwrap_or(&empty);
    for section in ["stages", "finally"] {
        let Some(stages) = root.get(section).and_then(Value::as_object) else {
            continue;
        };
        for (id, body) in stages {
            if body.get("uses").and_then(Value::as_str) != Some(GATE) {
                continue;
            }
            check_gate(id, body, &FieldPath::keys(&[section, id]), problems);
        }
    }
}

fn check_gate(id: &str, body: &Value, path: &FieldPath, problems: &mut Vec<Problem>) {
    let granted: Vec<&str> = match body.get("permissions").and_then(|p| p.get("exec")) {
        None => Vec::new(),
        Some(exec) => {
            // A grant that is not a list of names is the schema's to report.
            let names: Option<Vec<&str>> = exec
                .as_array()
                .and_then(|list| list.iter().map(Value::as_str).collect());
            let Some(names) = names else {
                return;
            };
            names
        }
    };
    let with = path.key("with");
    let mut missing: Vec<(FieldPath, String)> = Vec::new();
    let commands = body
        .get("with")
        .and_then(|w| w.get("commands"))
        .and_then(Value::as_array);
    for (i, command) in commands.into_iter().flatten().enumerate() {
        let at = with.key("commands").index(i);
        let (run, at) = match command {
            Value::Object(detailed) => match detailed.get("run") {
                Some(run) => (run, at.key("run")),
                None => continue,
            },
            other => (other, at),
        };
        let program = match run {
            Value::String(line) => first_word(line),
            Value::Array(argv) => argv.first().and_then(Value::as_str).map(str::to_string),
            // Other shapes are the gate's schema's to report.
            _ => None,
        };
        let Some(program) = program.filter(|p| !p.is_empty() && !is_template(p)) else {
            continue;
        };
        if !granted.contains(&program.as_str()) {
            let at = if run.is_array() { at.index(0) } else { at };
            missing.push((at, program));
        }
    }
    let baseline = body.get("with").and_then(|w| w.get("baseline")) == Some(&Value::Bool(true));
    if baseline && !granted.contains(&"git") {
        missing.push((with.key("baseline"), "git".to_string()));
    }
    if missing.is_empty() {
        return;
    }
    // The grant that fixes every command of the stage at once.
    let mut fixed: Vec<&str> = granted.clone();
    for (_, program) in &missing {
        if !fixed.contains(&program.as_str()) {
            fixed.push(program);
        }
    }
    let grant = format!("exec: [{}]", fixed.join(", "));
    for (at, program) in &missing {
        let what = if at.last_key() == Some("baseline") {
            format!("`baseline: true` runs `git`, which is not granted to stage {id}")
        } else {
            format!("`{program}` is not granted to stage {id}")
        };
        problems.push(Problem::at(
            at.clone(),
            format!(
                "{what}: the gate would refuse to run it; add it under the stage's \
                 permissions.exec ({grant})"
            ),
        ));
    }
}

/// The first word of `line` as the gate splits it (POSIX shell words: quotes and backslashes,
/// no expansions); `None` when the line has no word or its quotes are unbalanced (the gate
/// reports that itself).
fn first_word(line: &str) -> Option<String> {
    let mut word = String::new();
    let mut chars = line.trim_start().chars();
    let mut started = false;
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => break,
            '\\' => word.push(chars.next()?),
            '\'' => loop {
                match chars.next()? {
                    '\'' => break,
                    c => word.push(c),
                }
            },
            '"' => loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => match chars.next()? {
                        c @ ('\\' | '"' | '$' | '`') => word.push(c),
                        '\n' => {}
                        c => {
                            word.push('\\');
                            word.push(c);
                        }
                    },
                    c => word.push(c),
                }
            },
            c => word.push(c),
        }
        started = true;
    }
    started.then_some(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_yaml(stages: &str) -> Vec<String> {
        let document: Value = serde_json::from_str(stages).unwrap();
        let mut problems = Vec::new();
        check(&document, &mut problems);
        problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect()
    }

    #[test]
    fn first_words_are_split_like_the_gate_splits_them() {
        assert_eq!(first_word("cargo test --all").as_deref(), Some("cargo"));
        assert_eq!(first_word("  'my tool' x").as_deref(), Some("my tool"));
        assert_eq!(first_word(r#""a\"b" c"#).as_deref(), Some("a\"b"));
        assert_eq!(first_word(r"a\ b c").as_deref(), Some("a b"));
        assert_eq!(first_word("./x.sh").as_deref(), Some("./x.sh"));
        assert_eq!(first_word("   "), None);
        assert_eq!(first_word("'unbalanced"), None);
    }

    #[test]
    fn every_command_form_is_checked_against_the_grant() {
        let problems = check_yaml(
            r#"{"stages": {"t": {"uses": "builtin:gate",
                "with": {"commands": ["cargo test", ["npm", "test"], {"run": "make"},
                                      {"run": ["cargo", "fmt"]}, "{{ env.TOOL }} x", 7]},
                "permissions": {"exec": ["cargo"]}}}}"#,
        );
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(
            problems[0]
                .starts_with("stages.t.with.commands[1][0]: `npm` is not granted to stage t"),
            "{problems:#?}"
        );
        assert!(
            problems[0].ends_with("(exec: [cargo, npm, make])"),
            "{problems:#?}"
        );
        assert!(
            problems[1].starts_with("stages.t.with.commands[2].run: `make` is not granted"),
            "{problems:#?}"
        );
    }

    #[test]
    fn baseline_needs_git_and_other_plugins_are_not_judged() {
        let problems = check_yaml(
            r#"{"finally": {"t": {"uses": "builtin:gate",
                "with": {"commands": ["true"], "baseline": true},
                "permissions": {"exec": ["true"]}}},
                "stages": {"o": {"uses": "builtin:merge", "with": {"commands": ["x"]}}}}"#,
        );
        assert_eq!(
            problems,
            [
                "finally.t.with.baseline: `baseline: true` runs `git`, which is not granted to \
              stage t: the gate would refuse to run it; add it under the stage's \
              permissions.exec (exec: [true, git])"
            ]
        );
        // A malformed grant (`exec: [true]` is a boolean in YAML) is the schema's to report.
        let malformed = check_yaml(
            r#"{"stages": {"t": {"uses": "builtin:gate",
                "with": {"commands": ["true"]}, "permissions": {"exec": [true]}}}}"#,
        );
        assert_eq!(malformed, Vec::<String>::new());
        let fine = check_yaml(
            r#"{"stages": {"t": {"uses": "builtin:gate",
                "with": {"commands": ["git status", "true"], "baseline": true},
                "permissions": {"exec": ["true", "git"]}}}}"#,
        );
        assert_eq!(fine, Vec::<String>::new());
    }
}
