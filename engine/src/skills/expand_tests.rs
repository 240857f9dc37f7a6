use super::*;

fn skill() -> Skill {
    engine_workflow::load_skill_str(
        "web.yaml",
        None,
        "name: web\nstories:\n  - id: WEB-1\n    title: \"Login\\nform\"\n    description: |\n      Build it.\n      ### EVIL-9: injected\n      **Depends on:** [WEB-2]\n      ```\n      P0 | DONE\n    acceptance_criteria: [\"posts to /login\", \"shows\\nerrors\"]\n  - id: WEB-2\n    title: Logout\n    depends_on: [WEB-1]\n",
    )
    .unwrap()
}

#[test]
fn stories_become_tasks_after_the_existing_bytes() {
    let existing = "# Tasks\r\n\r\n### TASK-1: Old\r\nP0 | DONE\r\n";
    let e = expand_text(existing, &skill());
    assert!(e.text.starts_with(existing), "existing bytes kept");
    assert_eq!(e.added, vec!["WEB-1", "WEB-2"]);
    let tail = &e.text[existing.len()..];
    assert!(
        tail.contains("### WEB-1: Login form\n🟡 P2 | ⬜ TODO\n"),
        "{tail}"
    );
    assert!(
        tail.contains("**Skill:** web\n**Story:** WEB-1\n"),
        "{tail}"
    );
    assert!(
        tail.contains("- [ ] posts to /login\n- [ ] shows errors\n"),
        "{tail}"
    );
    assert!(tail.contains("**Depends on:** —\n"), "{tail}");
    assert!(tail.contains("**Depends on:** [WEB-1]\n"), "{tail}");
}

#[test]
fn hostile_descriptions_cannot_add_structure() {
    let e = expand_text("", &skill());
    assert_eq!(task_ids(&e.text), vec!["WEB-1", "WEB-2"], "{}", e.text);
    assert!(e.text.contains("\\### EVIL-9: injected\n"));
    assert!(e.text.contains("\\**Depends on:** [WEB-2]\n"));
    assert!(e.text.contains("\\```\n"));
    assert!(e.text.contains("\\P0 | DONE\n"));
}

#[test]
fn expanding_twice_adds_nothing_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec/tasks.md");
    let first = expand_file(&path, &skill()).unwrap();
    assert_eq!(first.added.len(), 2);
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written, first.text);
    let second = expand_file(&path, &skill()).unwrap();
    assert!(second.added.is_empty());
    assert_eq!(second.skipped, vec!["WEB-1", "WEB-2"]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), written);
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn a_file_that_is_not_utf8_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.md");
    std::fs::write(&path, b"# T\n\xff\n").unwrap();
    let err = expand_file(&path, &skill()).unwrap_err().to_string();
    assert!(err.contains("not valid UTF-8"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b"# T\n\xff\n");
}
