//! The built-in defaults of the triage rules: labels, keywords and verbs. Documented in
//! `docs/triage.md`; a list given in the config replaces the matching one here.

use std::collections::BTreeMap;

use crate::tier::Tier;

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

/// The built-in label map.
pub fn default_labels() -> BTreeMap<String, Tier> {
    let mut map = BTreeMap::new();
    for label in [
        "epic",
        "architecture",
        "complex",
        "hard",
        "size:xl",
        "size/xl",
    ] {
        map.insert(label.to_string(), Tier::Genius);
    }
    for label in [
        "bug",
        "feature",
        "enhancement",
        "size:m",
        "size/m",
        "size:l",
        "size/l",
    ] {
        map.insert(label.to_string(), Tier::Smart);
    }
    for label in [
        "good first issue",
        "good-first-issue",
        "trivial",
        "easy",
        "typo",
        "chore",
        "documentation",
        "docs",
        "size:xs",
        "size/xs",
        "size:s",
        "size/s",
    ] {
        map.insert(label.to_string(), Tier::Primitive);
    }
    map
}

/// The built-in "do not run" labels.
pub fn default_skip_labels() -> Vec<String> {
    strings(&[
        "done",
        "duplicate",
        "wontfix",
        "won't fix",
        "invalid",
        "not planned",
        "blocked",
    ])
}

/// The built-in `genius` keywords.
pub fn default_genius_keywords() -> Vec<String> {
    strings(&[
        "architecture",
        "redesign",
        "rewrite",
        "migration",
        "migrate",
        "concurrency",
        "race condition",
        "deadlock",
        "distributed",
        "security",
        "vulnerability",
        "cryptography",
        "performance",
        "scalability",
    ])
}

/// The built-in `smart` keywords.
pub fn default_smart_keywords() -> Vec<String> {
    strings(&[
        "implement",
        "feature",
        "refactor",
        "integrate",
        "integration",
        "api",
        "endpoint",
        "bug",
        "debug",
        "parser",
        "algorithm",
        "database",
        "schema",
        "cache",
    ])
}

/// The built-in `primitive` keywords.
pub fn default_primitive_keywords() -> Vec<String> {
    strings(&[
        "typo",
        "spelling",
        "wording",
        "rename",
        "comment",
        "docs",
        "documentation",
        "readme",
        "changelog",
        "formatting",
        "whitespace",
        "lint",
        "bump version",
        "version bump",
    ])
}

/// The built-in action verbs of the vagueness rule.
pub fn default_verbs() -> Vec<String> {
    strings(&[
        "add",
        "allow",
        "build",
        "bump",
        "change",
        "check",
        "clean",
        "convert",
        "correct",
        "create",
        "delete",
        "deprecate",
        "disable",
        "document",
        "drop",
        "enable",
        "ensure",
        "expose",
        "extract",
        "fix",
        "generate",
        "handle",
        "implement",
        "improve",
        "increase",
        "introduce",
        "investigate",
        "log",
        "make",
        "merge",
        "migrate",
        "move",
        "optimize",
        "parse",
        "port",
        "prevent",
        "print",
        "raise",
        "reduce",
        "refactor",
        "remove",
        "rename",
        "replace",
        "return",
        "rewrite",
        "show",
        "simplify",
        "speed",
        "split",
        "support",
        "test",
        "update",
        "upgrade",
        "use",
        "validate",
        "write",
    ])
}
