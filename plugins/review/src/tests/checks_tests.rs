use super::*;

fn spec(value: Value) -> BTreeMap<String, Value> {
    BTreeMap::from([(SPEC_OUTPUTS.to_string(), value)])
}

#[test]
fn checklists_come_from_the_hosts_spec_outputs() {
    let lists = Checklists::from_outputs(&spec(json!({
        "constitution": {"path": "RULES.md", "text": "...", "rules": ["A", "B"]},
        "skill": {"name": "web", "story": {"id": "W-1", "title": "Login",
                  "acceptance_criteria": ["posts"]}},
    })));
    assert_eq!(lists.constitution_path.as_deref(), Some("RULES.md"));
    assert_eq!(lists.rules, vec!["A", "B"]);
    assert_eq!(lists.story.as_deref(), Some("W-1: Login"));
    assert_eq!(lists.criteria, vec!["posts"]);
    let section = lists.prompt_section();
    assert!(
        section.contains("## The project's constitution (RULES.md)"),
        "{section}"
    );
    assert!(section.contains("- R1: A\n- R2: B\n"), "{section}");
    assert!(
        section.contains("## Acceptance criteria of story W-1: Login"),
        "{section}"
    );
    assert!(section.contains("- C1: posts\n"), "{section}");
    assert!(section.contains("`constitution`") && section.contains("`criteria`"));
    assert!(Checklists::from_outputs(&BTreeMap::new()).is_empty());
    assert_eq!(Checklists::default().prompt_section(), "");
}

#[test]
fn checks_are_read_leniently_and_only_a_stated_failure_fails() {
    let object = json!({
        "constitution": [
            {"rule": 1, "ok": true},
            {"rule": "R2", "violated": true, "reason": "uses unwrap"},
            {"rule": 3, "status": "violated"},
            {"rule": 4, "status": "ok"},
            {"rule": 5},
            "junk",
        ],
    });
    let checks = read_checks(object.as_object().unwrap(), "constitution").unwrap();
    let failed: Vec<_> = checks.iter().filter(|c| !c.ok).map(|c| c.index).collect();
    assert_eq!(failed, vec![Some(2), Some(3)]);
    assert_eq!(checks[1].message, "uses unwrap");
    assert_eq!(checks.len(), 4);
    assert_eq!(read_checks(object.as_object().unwrap(), "criteria"), None);
}

#[test]
fn blockers_name_the_rule_text_and_the_persona() {
    let lists = Checklists {
        rules: vec!["No unwrap.".into()],
        ..Checklists::default()
    };
    let checks = [
        Check {
            index: Some(1),
            ok: false,
            message: "a.rs:3".into(),
        },
        Check {
            index: Some(9),
            ok: false,
            message: String::new(),
        },
    ];
    let blockers = lists.blockers("security", &checks, &[]);
    let text = blocked_text(&blockers);
    assert_eq!(
        text,
        "- constitution rule R1 (\"No unwrap.\") not met, says security: a.rs:3\n\
         - constitution rule R9 not met, says security\n"
    );
}
