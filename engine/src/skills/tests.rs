use super::*;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A repository with `files` committed on `main`; its head commit.
fn repo(files: &[(&str, &str)]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    for (path, text) in files {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }
    std::fs::write(dir.path().join("README"), "x\n").unwrap();
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "base"]);
    let head = git(dir.path(), &["rev-parse", "HEAD"]);
    (dir, head)
}

/// A linked worktree of the repository at `dir`, checked out (detached) at `at`.
fn linked_worktree(dir: &Path, at: &Path) -> PathBuf {
    engine_git::Repo::discover(dir).unwrap();
    git(
        dir,
        &["worktree", "add", "-q", "--detach", at.to_str().unwrap()],
    );
    at.to_path_buf()
}

fn task(labels: &[&str]) -> Task {
    Task {
        id: "T-1".into(),
        title: "t".into(),
        body: String::new(),
        labels: labels.iter().map(|l| (*l).to_string()).collect(),
    }
}

fn outputs(
    dir: &Path,
    base: &str,
    rules: &RulesSettings,
    t: &Task,
) -> Result<Option<Value>, SpecError> {
    let site = SpecSite {
        repo_root: dir,
        base_commit: base,
        branch: "main",
        rules,
        fresh_worktree: None,
    };
    spec_outputs(&site, t, true)
}

#[test]
fn the_committed_constitution_is_read_not_the_working_copy() {
    let (dir, base) = repo(&[(
        "spec/constitution.md",
        "- Never use unwrap.\n- Tests do not sleep.\n",
    )]);
    std::fs::write(dir.path().join("spec/constitution.md"), "- anything goes\n").unwrap();
    let out = outputs(dir.path(), &base, &RulesSettings::default(), &task(&[]))
        .unwrap()
        .unwrap();
    assert_eq!(out["constitution"]["path"], "spec/constitution.md");
    assert_eq!(
        out["constitution"]["rules"],
        json!(["Never use unwrap.", "Tests do not sleep."])
    );
    assert!(out.get("skill").is_none());
}

#[test]
fn a_fresh_worktree_answers_absence_without_git_and_presence_from_the_commit() {
    let (dir, base) = repo(&[]);
    let outside = tempfile::tempdir().unwrap();
    let linked = linked_worktree(dir.path(), &outside.path().join("wt"));
    let rules = RulesSettings::default();
    // No repository here: asking git fails, so an answer proves git was not asked.
    let no_repo = tempfile::tempdir().unwrap();
    let asked = SpecSite {
        repo_root: no_repo.path(),
        base_commit: &base,
        branch: "main",
        rules: &rules,
        fresh_worktree: None,
    };
    assert!(matches!(constitution(&asked), Err(SpecError::Git { .. })));
    let fresh = SpecSite {
        fresh_worktree: Some(&linked),
        ..asked
    };
    assert_eq!(constitution(&fresh).unwrap(), None);

    // Present in the checkout: read from the commit, whatever the worktree holds now.
    let (dir, base) = repo(&[("spec/constitution.md", "- Be kind.\n")]);
    let linked = linked_worktree(dir.path(), &outside.path().join("wt2"));
    std::fs::write(linked.join("spec/constitution.md"), "- anything goes\n").unwrap();
    let site = SpecSite {
        repo_root: dir.path(),
        base_commit: &base,
        branch: "main",
        rules: &rules,
        fresh_worktree: Some(&linked),
    };
    let (_, text) = constitution(&site).unwrap().unwrap();
    assert_eq!(text, "- Be kind.\n");
}

#[test]
fn no_file_means_nothing_unless_the_workflow_names_one() {
    let (dir, base) = repo(&[]);
    assert_eq!(
        outputs(dir.path(), &base, &RulesSettings::default(), &task(&[])).unwrap(),
        None
    );
    let rules = RulesSettings {
        constitution: engine_workflow::ConstitutionSetting::Path("docs/RULES.md".into()),
        ..RulesSettings::default()
    };
    let err = outputs(dir.path(), &base, &rules, &task(&[]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`constitution: docs/RULES.md` does not exist"),
        "{err}"
    );
}

#[test]
fn a_constitution_over_the_cap_is_a_clear_error() {
    let big = "- rule\n".repeat(6000);
    let (dir, base) = repo(&[("spec/constitution.md", &big)]);
    let err = outputs(dir.path(), &base, &RulesSettings::default(), &task(&[]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "spec/constitution.md is {} bytes at the run's base commit; the limit is 32768 bytes: shorten it",
            big.len()
        )
    );
}

#[test]
fn a_directory_is_not_a_constitution() {
    let (dir, base) = repo(&[("spec/constitution.md/x", "y")]);
    let err = outputs(dir.path(), &base, &RulesSettings::default(), &task(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("is not a regular file"), "{err}");
}

#[test]
fn the_selected_skill_comes_with_its_story_and_gate_matches() {
    let skill = "name: web\nprompt: Use the design system.\nstories:\n  - id: T-1\n    title: Login\n    acceptance_criteria: [posts]\ngates:\n  - {pattern: \"*.rs\", command: cargo test}\n  - {pattern: \"docs/**\", command: make docs}\n";
    let (dir, base) = repo(&[("skills/web.yaml", skill)]);
    std::fs::write(dir.path().join("lib.rs"), "fn main() {}\n").unwrap();
    git(dir.path(), &["checkout", "-q", "-b", "feature"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "change"]);
    let rules = RulesSettings::default();
    let site = SpecSite {
        repo_root: dir.path(),
        base_commit: &base,
        branch: "feature",
        rules: &rules,
        fresh_worktree: None,
    };
    let out = spec_outputs(&site, &task(&["skill:web"]), true)
        .unwrap()
        .unwrap();
    let skill = &out["skill"];
    assert_eq!(skill["name"], "web");
    assert_eq!(skill["selected_by"], "label");
    assert_eq!(skill["story"]["acceptance_criteria"], json!(["posts"]));
    assert_eq!(skill["gates"][0]["matched"], true);
    assert_eq!(skill["gates"][0]["files"], json!(["lib.rs"]));
    assert_eq!(skill["gates"][1]["matched"], false);
}

#[test]
fn selection_errors_name_the_task_and_the_file() {
    let (dir, base) = repo(&[(
        "skills/web.yaml",
        "name: web\nstories: [{id: A-1, title: a}]\n",
    )]);
    let rules = RulesSettings::default();
    let err = outputs(dir.path(), &base, &rules, &task(&["skill:api"]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("task T-1 selects skill \"api\" (label) but skills/api.yaml does not exist"),
        "{err}"
    );
    let err = outputs(
        dir.path(),
        &base,
        &rules,
        &task(&["skill:web", "story:B-2"]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("names story \"B-2\", which skill \"web\" does not have (it has A-1)"),
        "{err}"
    );
    let err = outputs(dir.path(), &base, &rules, &task(&["skill:../x"]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("is not a skill name"), "{err}");
}
