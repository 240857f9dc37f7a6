//! The rule behind `engine validate` (issue 14): a workflow it accepts never fails to start for
//! a reason in its configuration. Every workflow of the corpus (tests/fixtures/workflows) that
//! `validate --strict` accepts here is run, and must run to its end successfully.

use crate::support::TestRepo;
use crate::support::repo::source_root;

/// The secret the corpus' workflows read.
const SECRET: &str = "ENGINE_CORPUS_TOKEN";

#[test]
fn every_workflow_validate_accepts_starts_and_runs() {
    let dir = source_root().join("tests/fixtures/workflows");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    for file in files {
        let repo = TestRepo::new();
        repo.write("workflow.yaml", &std::fs::read_to_string(&file).unwrap());
        repo.commit_all("the workflow");
        let engine = |args: &[&str]| repo.engine().args(args).env(SECRET, "corpus-secret").run();
        let v = engine(&["validate", "workflow.yaml", "--strict"]);
        assert_eq!(v.code(), 0, "{}: {}", file.display(), v.context());
        let r = engine(&["run", "workflow.yaml", "--task", "Corpus"]);
        assert_eq!(r.code(), 0, "{}: {}", file.display(), r.context());
    }
}
