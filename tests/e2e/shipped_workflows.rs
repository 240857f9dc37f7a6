//! Every workflow the repository ships (workflows/, examples/) validates with the real binary.

use crate::support::TestRepo;
use crate::support::repo::source_root;

#[test]
fn shipped_workflows_validate() {
    let root = source_root();
    let mut files = vec![root.join("examples/hello-repo/workflow.yaml")];
    for entry in std::fs::read_dir(root.join("workflows")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            files.push(path);
        }
    }
    let repo = TestRepo::new();
    for file in files {
        let r = repo.engine().args(["validate"]).args([&file]).run();
        assert_eq!(r.code(), 0, "{}: {}", file.display(), r.context());
        assert!(r.stdout().contains("ok"), "{}", r.context());
    }
}

#[test]
fn the_example_repository_passes_its_own_workflow() {
    let repo = TestRepo::from_dir(&source_root().join("examples/hello-repo"));
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Check the greeting")
        .run();
    r.succeeds();
    let report = r.report();
    let outputs = &report.stage("test").outputs["commands"][0];
    assert_eq!(outputs["exit_code"], 0, "{:#}", report.raw);
}
