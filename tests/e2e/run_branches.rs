//! End-to-end: run branches pile up one per run under `refs/heads/engine/`, and every sandboxed
//! attempt copies that directory's loose refs into its private refs. Once it is crowded, engine
//! has git pack them: the copy stays a few files however many runs the repository had, every
//! branch keeps its commit, and a stage still sees the other run branches.

use crate::support::TestRepo;

/// Loose ref files under `dir` (recursively).
fn loose_refs(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .map(|e| e.unwrap().path())
        .map(|p| if p.is_dir() { loose_refs(&p) } else { 1 })
        .sum()
}

#[test]
fn a_crowded_run_branch_directory_is_packed_and_stages_still_see_every_branch() {
    let repo = TestRepo::new();
    let base = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    let earlier = engine_git::LOOSE_REFS_BEFORE_PACKING + 16;
    for n in 0..earlier {
        repo.git(&["branch", &format!("engine/earlier-{n}"), &base]);
    }
    let dir = repo.path().join(".git/refs/heads/engine");
    assert_eq!(loose_refs(&dir), earlier);
    repo.workflow(
        r#"name: branches
stages:
  look:
    uses: builtin:gate
    with: { commands: ["sh -c 'git for-each-ref refs/heads/engine/ > seen.txt'"] }
    permissions: { workspace: write, exec: [sh, git] }
"#,
    );
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Look at the branches")
        .run();
    r.succeeds();
    let branch = r.report().meta.branch;
    assert!(
        loose_refs(&dir) <= 2,
        "the run branches' refs were not packed: {} loose",
        loose_refs(&dir)
    );
    for n in 0..earlier {
        let name = format!("engine/earlier-{n}");
        assert_eq!(repo.git(&["rev-parse", &name]).trim(), base, "{name} moved");
    }
    // What the stage saw (committed on the run branch): every earlier branch, and its own.
    let seen = repo.git(&["show", &format!("{branch}:seen.txt")]);
    assert_eq!(seen.lines().count(), earlier + 1, "{seen}");
    assert!(seen.contains(&format!("\trefs/heads/{branch}\n")), "{seen}");
    assert!(
        seen.contains(&format!("{base} commit\trefs/heads/engine/earlier-0\n")),
        "{seen}"
    );
}
