//! The change under review: the run branch's diff against its base commit (never `HEAD~1`:
//! the branch may hold several commits, from several stages and loops), and the cut that keeps
//! it within what a persona's prompt can carry.

use std::fmt::Write as _;

/// `git diff` arguments of the summary (`--stat`) of `base...HEAD`.
pub fn stat_args(base: &str) -> Vec<String> {
    diff_args(base, &["--stat=160"])
}

/// `git diff` arguments listing the changed files of `base...HEAD`, one a line.
pub fn name_args(base: &str) -> Vec<String> {
    diff_args(base, &["--name-only"])
}

/// `git diff` arguments of the full patch of `base...HEAD`.
pub fn patch_args(base: &str) -> Vec<String> {
    diff_args(base, &["-M", "--no-ext-diff", "--no-textconv"])
}

fn diff_args(base: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["-c", "core.quotepath=off", "diff", "--no-color"]
        .iter()
        .map(ToString::to_string)
        .collect();
    args.extend(extra.iter().map(ToString::to_string));
    args.push(format!("{base}...HEAD"));
    args.push("--".to_string());
    args
}

/// The change as a persona sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewDiff {
    /// `git diff --stat` (files and lines changed).
    pub stat: String,
    /// The patch, possibly cut.
    pub patch: String,
    /// Every changed file.
    pub files: Vec<String>,
    /// Size of the whole patch in bytes.
    pub total_bytes: u64,
    /// Set when the patch was cut: files not shown, or shown only in part.
    pub truncation: Option<Truncation>,
}

/// How a patch was cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncation {
    /// Bytes shown.
    pub shown_bytes: u64,
    /// Files whose patch is missing or cut off.
    pub files_not_shown: Vec<String>,
}

impl ReviewDiff {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.patch.trim().is_empty()
    }

    /// The note placed under a cut patch, telling the persona what it does not see.
    pub fn truncation_note(&self) -> Option<String> {
        const LISTED: usize = 30;
        let cut = self.truncation.as_ref()?;
        let mut note = format!(
            "[The diff is truncated: it is {} bytes and only {} are shown.",
            self.total_bytes, cut.shown_bytes
        );
        if !cut.files_not_shown.is_empty() {
            let listed: Vec<&str> = cut
                .files_not_shown
                .iter()
                .take(LISTED)
                .map(String::as_str)
                .collect();
            let _ = write!(
                note,
                " Files not shown or cut off ({}): {}",
                cut.files_not_shown.len(),
                listed.join(", ")
            );
            if cut.files_not_shown.len() > LISTED {
                let _ = write!(note, " and {} more", cut.files_not_shown.len() - LISTED);
            }
            note.push('.');
        }
        note.push_str(
            " Read those files in the worktree when they matter for your focus; do not assume \
             they are fine.]",
        );
        Some(note)
    }
}

/// Builds the persona's view of the change from git's outputs. `patch` is what the host kept
/// of the patch (its tail when the patch was larger than the host's output cap) and
/// `patch_bytes` the patch's real size; the result keeps at most `max_bytes` of it, cut at a
/// file boundary when that keeps at least half of the budget, else at a line boundary.
pub fn fit(stat: &str, names: &str, patch: &str, patch_bytes: u64, max_bytes: usize) -> ReviewDiff {
    let files: Vec<String> = names
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let total_bytes = patch_bytes.max(patch.len() as u64);
    let mut text = patch;
    let mut head_lost = false;
    if (patch.len() as u64) < patch_bytes {
        // The host kept the tail: start at the first whole file.
        head_lost = true;
        text = match find_file_start(text, 0) {
            Some(start) => &text[start..],
            None => "",
        };
    }
    let mut cut_mid_file = false;
    if text.len() > max_bytes {
        let limit = text.floor_char_boundary(max_bytes);
        let file_cut = text[..limit]
            .rfind("\ndiff --git ")
            .map(|i| i + 1)
            .filter(|i| *i >= max_bytes / 2);
        let end = if let Some(end) = file_cut {
            end
        } else {
            cut_mid_file = true;
            text[..limit].rfind('\n').map_or(limit, |i| i + 1)
        };
        text = &text[..end];
    }
    let truncated = head_lost || text.len() < patch.len();
    let truncation = truncated.then(|| {
        let mut shown = shown_files(text);
        if cut_mid_file {
            shown.pop();
        }
        Truncation {
            shown_bytes: text.len() as u64,
            files_not_shown: files
                .iter()
                .filter(|f| !shown.contains(f))
                .cloned()
                .collect(),
        }
    });
    ReviewDiff {
        stat: stat.trim_end().to_string(),
        patch: text.to_string(),
        files,
        total_bytes,
        truncation,
    }
}

/// The byte index of the first `diff --git` line at or after `from`.
fn find_file_start(text: &str, from: usize) -> Option<usize> {
    if text[from..].starts_with("diff --git ") {
        return Some(from);
    }
    text[from..].find("\ndiff --git ").map(|i| from + i + 1)
}

/// The new-side path of each `diff --git a/X b/Y` header, in order.
fn shown_files(patch: &str) -> Vec<String> {
    patch
        .lines()
        .filter_map(|line| line.strip_prefix("diff --git "))
        .filter_map(|rest| rest.rfind(" b/").map(|i| rest[i + 3..].to_string()))
        .collect()
}

#[cfg(test)]
#[path = "tests/diff_tests.rs"]
mod tests;
