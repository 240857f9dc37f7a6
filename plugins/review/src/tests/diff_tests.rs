use super::*;

fn file_patch(name: &str, lines: usize) -> String {
    let mut p = format!(
        "diff --git a/{name} b/{name}\n--- a/{name}\n+++ b/{name}\n@@ -0,0 +1,{lines} @@\n"
    );
    for i in 0..lines {
        let _ = writeln!(p, "+line {i} of {name}");
    }
    p
}

#[test]
fn the_diff_is_against_the_base_commit_not_the_previous_one() {
    for args in [
        stat_args("abc123"),
        name_args("abc123"),
        patch_args("abc123"),
    ] {
        assert!(args.contains(&"abc123...HEAD".to_string()), "{args:?}");
        assert!(!args.iter().any(|a| a.contains("HEAD~1")), "{args:?}");
        assert_eq!(args.last().map(String::as_str), Some("--"));
        assert_eq!(args[2], "diff");
    }
    assert!(stat_args("b").iter().any(|a| a.starts_with("--stat")));
    assert!(name_args("b").contains(&"--name-only".to_string()));
}

#[test]
fn a_small_diff_is_kept_whole() {
    let patch = file_patch("a.rs", 3);
    let d = fit(
        " a.rs | 3 +++\n",
        "a.rs\n",
        &patch,
        patch.len() as u64,
        10_000,
    );
    assert_eq!(d.patch, patch);
    assert_eq!(d.files, ["a.rs"]);
    assert_eq!(d.truncation, None);
    assert_eq!(d.truncation_note(), None);
    assert!(!d.is_empty());
}

#[test]
fn an_empty_diff_is_empty() {
    let d = fit("", "", "", 0, 10_000);
    assert!(d.is_empty());
}

#[test]
fn a_large_diff_is_cut_at_a_file_boundary_with_a_note() {
    let patch = [
        file_patch("a.rs", 40),
        file_patch("b.rs", 40),
        file_patch("c.rs", 40),
    ]
    .concat();
    let a_and_b = file_patch("a.rs", 40).len() + file_patch("b.rs", 40).len();
    let d = fit(
        "stat",
        "a.rs\nb.rs\nc.rs\n",
        &patch,
        patch.len() as u64,
        a_and_b + 50,
    );
    assert_eq!(d.patch.len(), a_and_b);
    assert!(d.patch.ends_with("+line 39 of b.rs\n"));
    let cut = d.truncation.clone().unwrap();
    assert_eq!(cut.files_not_shown, ["c.rs"]);
    assert_eq!(cut.shown_bytes, a_and_b as u64);
    let note = d.truncation_note().unwrap();
    assert!(note.contains("truncated"), "{note}");
    assert!(note.contains(&format!("{} bytes", patch.len())), "{note}");
    assert!(note.contains("c.rs"), "{note}");
}

#[test]
fn a_single_huge_file_is_cut_at_a_line_and_counted_as_not_shown() {
    let patch = [file_patch("a.rs", 3), file_patch("big.rs", 2000)].concat();
    let d = fit("stat", "a.rs\nbig.rs\n", &patch, patch.len() as u64, 5_000);
    assert!(d.patch.len() <= 5_000);
    assert!(d.patch.ends_with('\n'));
    assert!(d.patch.contains("diff --git a/big.rs b/big.rs"));
    assert_eq!(d.truncation.unwrap().files_not_shown, ["big.rs"]);
}

#[test]
fn a_patch_whose_head_the_host_dropped_starts_at_a_whole_file() {
    let full = [file_patch("a.rs", 50), file_patch("b.rs", 5)].concat();
    // The host kept only the tail: part of a.rs, then all of b.rs.
    let tail = &full[full.len() - file_patch("b.rs", 5).len() - 40..];
    let d = fit("stat", "a.rs\nb.rs\n", tail, full.len() as u64, 100_000);
    assert!(
        d.patch.starts_with("diff --git a/b.rs b/b.rs"),
        "{}",
        d.patch
    );
    assert_eq!(d.total_bytes, full.len() as u64);
    assert_eq!(d.truncation.unwrap().files_not_shown, ["a.rs"]);
}

#[test]
fn cutting_respects_utf8() {
    let mut patch = String::from("diff --git a/u.txt b/u.txt\n");
    for _ in 0..500 {
        patch.push_str("+ééééééééé\n");
    }
    let d = fit("", "u.txt\n", &patch, patch.len() as u64, 1_001);
    assert!(d.patch.len() <= 1_001);
    assert!(d.patch.is_char_boundary(d.patch.len()));
}

#[test]
fn the_note_lists_at_most_thirty_files() {
    let names: String = (0..40).fold(String::new(), |mut names, i| {
        let _ = writeln!(names, "f{i}.rs");
        names
    });
    let patch = file_patch("f0.rs", 400);
    let d = fit("", &names, &patch, patch.len() as u64, 2_000);
    let note = d.truncation_note().unwrap();
    assert!(note.contains("(40)"), "{note}");
    assert!(note.contains("and 10 more"), "{note}");
}
