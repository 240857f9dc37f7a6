use std::collections::BTreeMap;

use serde_json::json;

use super::*;

struct Files(BTreeMap<String, String>, Vec<String>);

impl PromptFiles for Files {
    fn read(&mut self, relative: &str) -> Result<String, String> {
        self.1.push(relative.to_string());
        self.0
            .get(relative)
            .cloned()
            .ok_or_else(|| "No such file or directory".to_string())
    }
}

fn files(list: &[(&str, &str)]) -> Files {
    Files(
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        Vec::new(),
    )
}

fn config(value: serde_json::Value) -> ReviewConfig {
    serde_json::from_value(value).unwrap()
}

#[test]
fn every_built_in_persona_has_a_substantial_prompt() {
    for name in ["quality", "security", "tests", "simplicity", "docs"] {
        let prompt = built_in(name).unwrap();
        assert!(prompt.len() > 600, "{name} prompt is too thin");
        assert!(prompt.contains("Look for"), "{name}");
    }
    assert_eq!(built_in("perf"), None);
}

#[test]
fn named_custom_and_file_personas_resolve_in_order() {
    let c = config(json!({
        "model": "primitive",
        "personas": [
            "security",
            {"name": "perf", "prompt": "  Find slow loops.  ", "backend": "codex"},
            {"name": "api", "prompt_file": ".github/review/api.md", "model": "genius"},
            {"name": "tests", "model": "genius"}
        ]
    }));
    let mut f = files(&[(".github/review/api.md", "Check the public API.\n")]);
    let personas = resolve(&c, &mut f).unwrap();
    let names: Vec<&str> = personas.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["security", "perf", "api", "tests"]);
    assert_eq!(personas[0].focus, built_in("security").unwrap());
    assert_eq!(personas[0].model, "primitive");
    assert_eq!(personas[0].backend, "claude");
    assert_eq!(personas[1].focus, "Find slow loops.");
    assert_eq!(personas[1].backend, "codex");
    assert_eq!(personas[1].source, PromptSource::Inline);
    assert_eq!(personas[2].focus, "Check the public API.");
    assert_eq!(
        personas[2].source,
        PromptSource::File(".github/review/api.md".into())
    );
    assert_eq!(personas[2].model, "genius");
    assert_eq!(f.1, [".github/review/api.md"]);
    // A built-in name as a mapping keeps the built-in prompt with its own settings.
    assert_eq!(personas[3].focus, built_in("tests").unwrap());
    assert_eq!(personas[3].model, "genius");
}

#[test]
fn unusable_personas_are_explained() {
    let err = |value: serde_json::Value| {
        resolve(&config(value), &mut files(&[]))
            .unwrap_err()
            .to_string()
    };
    let unknown = err(json!({"personas": ["perf"]}));
    assert!(
        unknown.contains("`perf`") && unknown.contains("not a built-in"),
        "{unknown}"
    );
    let twice = err(json!({"personas": ["docs", {"name": "docs", "model": "x"}]}));
    assert!(twice.contains("twice"), "{twice}");
    let no_prompt = err(json!({"personas": [{"name": "perf"}]}));
    assert!(no_prompt.contains("prompt"), "{no_prompt}");
    let both = err(json!({"personas": [{"name": "p", "prompt": "a", "prompt_file": "b"}]}));
    assert!(both.contains("not both"), "{both}");
    let missing = err(json!({"personas": [{"name": "p", "prompt_file": "nope.md"}]}));
    assert!(
        missing.contains("nope.md") && missing.contains("No such file"),
        "{missing}"
    );
    let bad_name = err(json!({"personas": [{"name": "has space", "prompt": "x"}]}));
    assert!(bad_name.contains("letters"), "{bad_name}");
    let empty_file = resolve(
        &config(json!({"personas": [{"name": "p", "prompt_file": "e.md"}]})),
        &mut files(&[("e.md", "  \n")]),
    )
    .unwrap_err();
    assert!(empty_file.to_string().contains("empty"));
}

#[test]
fn prompt_files_are_confined_to_the_worktree() {
    assert_eq!(
        confine(".github/review/api.md").unwrap(),
        ".github/review/api.md"
    );
    assert_eq!(confine("./docs//review.md").unwrap(), "docs/review.md");
    assert_eq!(confine("/workspace/docs/r.md").unwrap(), "docs/r.md");
    assert!(confine("../secrets.md").is_err());
    assert!(confine("docs/../../etc/passwd").is_err());
    assert!(confine("/etc/passwd").is_err());
    assert!(confine("..\\x").is_err());
    assert!(confine("").is_err());
    assert!(confine("/workspace/").is_err());
    // A traversal never reaches the reader.
    let mut f = files(&[]);
    let c = config(json!({"personas": [{"name": "p", "prompt_file": "../../etc/passwd"}]}));
    assert!(resolve(&c, &mut f).is_err());
    assert!(f.1.is_empty());
}
