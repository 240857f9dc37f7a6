//! A plugin's name: kebab-case (`changelog-check`), which every language can use as a package
//! name, a file name (`dist/changelog-check.wasm`) and, in snake case, a module or crate name.

/// The longest name accepted.
const MAX_LEN: usize = 64;

/// Names that would clash with a language's own (Rust keywords and standard crates) or with the
/// SDK packages a project depends on.
const RESERVED: &[&str] = &[
    "alloc",
    "core",
    "proc-macro",
    "std",
    "test",
    "engine-stage-sdk",
    "engine-source-sdk",
    "engine-stage",
    "as",
    "async",
    "await",
    "break",
    "const",
    "continue",
    "crate",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "match",
    "mod",
    "move",
    "mut",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
];

/// Checks that `name` is a kebab-case plugin name: lowercase ASCII letters and digits in words
/// joined by single `-`, starting with a letter, at most 64 characters. The error says what is
/// wrong and suggests a name when one can be made.
pub fn validate(name: &str) -> Result<(), String> {
    let problem = if name.is_empty() {
        Some("it is empty".to_string())
    } else if name.len() > MAX_LEN {
        Some(format!("it is longer than {MAX_LEN} characters"))
    } else if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        Some("it must start with a lowercase letter".to_string())
    } else if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        Some(format!(
            "{c:?} is not allowed (use lowercase letters, digits and -)"
        ))
    } else if name.ends_with('-') || name.contains("--") {
        Some("a - must join two words".to_string())
    } else if RESERVED.contains(&name) {
        Some("it is reserved (a Rust keyword, a standard crate or an SDK package)".to_string())
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(problem) => {
            let hint = suggestion(name)
                .filter(|s| s != name && validate(s).is_ok())
                .map(|s| format!("; try {s:?}"))
                .unwrap_or_default();
            Err(format!(
                "invalid plugin name {name:?}: {problem}. A name is kebab-case: lowercase \
                 letters and digits, words joined by - (e.g. \"changelog-check\"){hint}"
            ))
        }
    }
}

/// `name` in snake case (`changelog-check` -> `changelog_check`): the Rust crate's library
/// name, the Python module's name.
pub fn snake(name: &str) -> String {
    name.replace('-', "_")
}

/// A kebab-case name made from `name` (`My_Stage` -> `my-stage`), if any letters are left.
fn suggestion(name: &str) -> Option<String> {
    let mut out = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && previous_lower {
            out.push('-');
        }
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
            previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else {
            out.push('-');
            previous_lower = false;
        }
    }
    let words: Vec<&str> = out.split('-').filter(|w| !w.is_empty()).collect();
    let joined = words.join("-");
    let start = joined.find(|c: char| c.is_ascii_lowercase())?;
    Some(joined[start..].trim_start_matches('-').to_string()).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_case_names_are_accepted() {
        for name in ["x", "changelog-check", "stage2", "a-b-c9"] {
            assert_eq!(validate(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn other_names_say_why_and_suggest_one() {
        let cases = [
            ("", "it is empty"),
            ("My_Stage", "must start with a lowercase letter"),
            ("my_stage", "'_' is not allowed"),
            ("2fast", "must start with a lowercase letter"),
            ("a--b", "a - must join two words"),
            ("trailing-", "a - must join two words"),
            ("match", "reserved"),
            ("engine-stage-sdk", "reserved"),
            ("a/b", "'/' is not allowed"),
        ];
        for (name, why) in cases {
            let err = validate(name).unwrap_err();
            assert!(err.contains(why), "{name}: {err}");
            assert!(err.contains("kebab-case"), "{name}: {err}");
        }
        assert!(
            validate("My_Stage")
                .unwrap_err()
                .contains("try \"my-stage\"")
        );
        assert!(
            validate("myStage")
                .unwrap_err()
                .contains("try \"my-stage\"")
        );
        assert!(!validate("match").unwrap_err().contains("try"));
        assert!(
            validate(&"a".repeat(65))
                .unwrap_err()
                .contains("longer than 64")
        );
    }

    #[test]
    fn snake_case_replaces_dashes() {
        assert_eq!(snake("changelog-check"), "changelog_check");
    }
}
