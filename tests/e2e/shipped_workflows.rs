//! Every workflow the repository ships (workflows/, examples/) validates with the real binary.

mod support;

use support::TestRepo;

#[test]
fn shipped_workflows_validate() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = vec![root.join("examples/hello-repo/workflow.yaml")];
    for entry in std::fs::read_dir(root.join("workflows")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            files.push(path);
        }
    }
    let repo = TestRepo::new();
    for file in files {
        let r = repo.run(&["validate", file.to_str().unwrap()]);
        assert_eq!(r.code(), 0, "{}: {}", file.display(), r.stderr());
        assert!(r.stdout().contains("ok"), "{}", r.stdout());
    }
}

#[test]
fn the_example_repository_passes_its_own_workflow() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let repo = TestRepo::new();
    let src = root.join("examples/hello-repo");
    copy_dir(&src, repo.path());
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "hello-repo"]);
    let r = repo.run(&["run", "workflow.yaml", "--task", "Check the greeting"]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let show = repo.show(&r.run_id());
    let outputs = &show["state"]["stages"]["test"]["outputs"]["commands"][0];
    assert_eq!(outputs["exit_code"], 0, "{show}");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
