use super::*;

fn new_in<'a>(parent: &'a Path, name: &'a str, kind: Kind) -> NewProject<'a> {
    NewProject {
        name,
        lang: Lang::Rust,
        kind,
        parent,
    }
}

/// Every file under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(current) = todo.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn a_rust_stage_is_its_template_with_the_names_filled_in() {
    let parent = tempfile::tempdir().unwrap();
    let created = create(&new_in(parent.path(), "hello-world", Kind::Stage)).unwrap();
    assert_eq!(created.dir, parent.path().join("hello-world"));
    for file in [
        "plugin.toml",
        "Cargo.toml",
        "Cargo.lock",
        "src/lib.rs",
        "workflow.yaml",
        "README.md",
        ".gitignore",
    ] {
        assert!(
            created.files.iter().any(|f| f == file),
            "{file}: {:?}",
            created.files
        );
    }
    for file in files_under(&created.dir) {
        let text = std::fs::read_to_string(created.dir.join(&file)).unwrap();
        for token in [
            "{{name}}",
            "{{snake_name}}",
            "{{engine_version}}",
            "{{project_path}}",
        ] {
            assert!(!text.contains(token), "{file} still holds {token}");
        }
    }
    let manifest = crate::plugin::build::Manifest::read(&created.dir).unwrap();
    assert_eq!(manifest.name, "hello-world");
    assert_eq!((manifest.kind, manifest.lang), (Kind::Stage, Lang::Rust));
    let cargo = std::fs::read_to_string(created.dir.join("Cargo.toml")).unwrap();
    assert!(cargo.contains("name = \"hello-world\""), "{cargo}");
    let lock = std::fs::read_to_string(created.dir.join("Cargo.lock")).unwrap();
    assert!(lock.contains("name = \"hello-world\""), "{lock}");
    assert!(lock.contains("name = \"wit-bindgen\""), "{lock}");
    let workflow = std::fs::read_to_string(created.dir.join("workflow.yaml")).unwrap();
    assert!(
        workflow.contains("uses: dist/hello-world.wasm"),
        "{workflow}"
    );
    assert!(created.dir.join(".engine/wit/stage.wit").is_file());
    assert!(
        created
            .dir
            .join(".engine/sdk/rust/sdk/Cargo.toml")
            .is_file()
    );
    // Nothing but the project is left in the parent.
    let left: Vec<String> = std::fs::read_dir(parent.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["hello-world"]);
}

#[test]
fn a_source_reads_its_file_relative_to_the_repository() {
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir(repo.path().join(".git")).unwrap();
    let parent = repo.path().join("tools");
    let created = create(&new_in(&parent, "todo-list", Kind::Source)).unwrap();
    assert_eq!(
        created.repo_root.as_deref(),
        Some(std::fs::canonicalize(repo.path()).unwrap().as_path())
    );
    let workflow = std::fs::read_to_string(created.dir.join("workflow.yaml")).unwrap();
    assert!(
        workflow.contains("path: tools/todo-list/tasks.txt"),
        "{workflow}"
    );
    let cargo = std::fs::read_to_string(created.dir.join("Cargo.toml")).unwrap();
    assert!(cargo.contains("engine-source-sdk"), "{cargo}");
    let lock = std::fs::read_to_string(created.dir.join("Cargo.lock")).unwrap();
    assert!(lock.contains("name = \"engine-source-sdk\""), "{lock}");
    assert_eq!(
        created.next_steps("tools/todo-list"),
        [
            "cd tools/todo-list && engine plugin build",
            "engine tasks workflow.yaml",
            "engine run workflow.yaml"
        ]
    );
}

#[test]
fn outside_a_repository_the_next_steps_make_one() {
    let parent = tempfile::tempdir().unwrap();
    let created = create(&new_in(parent.path(), "x", Kind::Stage)).unwrap();
    if created.repo_root.is_some() {
        // The temporary directory is inside a repository on this machine: nothing to check.
        return;
    }
    let steps = created.next_steps("my dir/x");
    assert_eq!(steps[0], "cd 'my dir/x' && engine plugin build");
    assert!(steps[1].starts_with("git init"), "{steps:?}");
    assert_eq!(
        steps[2],
        "engine run workflow.yaml --task \"Try the x stage\""
    );
}

#[test]
fn an_empty_directory_is_used_and_a_non_empty_one_refused() {
    let parent = tempfile::tempdir().unwrap();
    std::fs::create_dir(parent.path().join("empty")).unwrap();
    create(&new_in(parent.path(), "empty", Kind::Stage)).unwrap();
    assert!(parent.path().join("empty/plugin.toml").is_file());

    std::fs::create_dir(parent.path().join("taken")).unwrap();
    std::fs::write(parent.path().join("taken/notes.txt"), "mine").unwrap();
    let err = create(&new_in(parent.path(), "taken", Kind::Stage)).unwrap_err();
    assert!(matches!(err, ScaffoldError::Exists { .. }), "{err}");
    assert!(
        err.to_string().contains("already exists and is not empty"),
        "{err}"
    );
    assert_eq!(files_under(&parent.path().join("taken")), ["notes.txt"]);

    std::fs::write(parent.path().join("file"), "x").unwrap();
    let err = create(&new_in(parent.path(), "file", Kind::Stage)).unwrap_err();
    assert!(matches!(err, ScaffoldError::Exists { .. }), "{err}");
}

#[test]
fn a_bad_name_is_refused_before_anything_is_written() {
    let parent = tempfile::tempdir().unwrap();
    let err = create(&new_in(parent.path(), "Hello World", Kind::Stage)).unwrap_err();
    assert!(matches!(err, ScaffoldError::InvalidName(_)), "{err}");
    assert!(err.to_string().contains("kebab-case"), "{err}");
    assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
}

#[test]
fn a_missing_template_names_the_ones_there_are() {
    static TABLE: &[(&str, &[u8])] = &[
        ("templates/rust/source/plugin.toml", b"x"),
        ("templates/rust/stage/plugin.toml", b"x"),
        ("templates/rust/stage/src/lib.rs", b"x"),
        ("wit/stage.wit", b"x"),
    ];
    let err = template(TABLE, Lang::Js, Kind::Source)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "this engine has no template for a js task source (it has: rust stage, rust task source)"
    );
    assert_eq!(template(TABLE, Lang::Rust, Kind::Stage).unwrap().len(), 2);
}
