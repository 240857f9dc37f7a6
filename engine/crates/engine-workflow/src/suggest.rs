//! "Did you mean" suggestions by edit distance.

/// The candidate closest to `word`, if it is close enough to be a likely typo (for "did you
/// mean" suggestions).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = match word.chars().count() {
        0..=3 => 1,
        4..=8 => 2,
        _ => 3,
    };
    let lowered = word.to_lowercase();
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| {
            let distance = if c.to_lowercase() == lowered {
                0
            } else {
                edit_distance(word, c)
            };
            (distance, c)
        })
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// "unknown stage" with a suggestion, or the list of stages when nothing is close. `at` is
/// inserted after the name (e.g. " (at character 8)").
pub(crate) fn unknown_stage(name: &str, stage_ids: &[&str], at: &str) -> String {
    match closest(name, stage_ids.iter().copied()) {
        Some(near) => format!("unknown stage \"{name}\"{at}; did you mean \"{near}\"?"),
        None => format!(
            "unknown stage \"{name}\"{at} (stages: {})",
            stage_ids.join(", ")
        ),
    }
}

/// `head` followed by a suggestion for `name` and the `known` names, labelled `what`.
pub(crate) fn unknown_among(head: &str, name: &str, known: &[&str], what: &str) -> String {
    if known.is_empty() {
        return format!("{head} ({what}: none)");
    }
    let hint = closest(name, known.iter().copied())
        .map(|near| format!("did you mean \"{near}\"? "))
        .unwrap_or_default();
    format!("{head} ({hint}{what}: {})", known.join(", "))
}

/// Optimal string alignment distance: insertions, deletions, substitutions and transpositions of
/// adjacent characters each cost 1.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut table = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        table[i * width] = i;
    }
    for (j, cell) in table.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (table[(i - 1) * width + j] + 1)
                .min(table[i * width + j - 1] + 1)
                .min(table[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(table[(i - 2) * width + j - 2] + 1);
            }
            table[i * width + j] = best;
        }
    }
    table[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("neds", "needs"), 1);
        assert_eq!(edit_distance("biuld", "build"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggests_only_likely_typos() {
        let stages = ["build", "test", "review"];
        assert_eq!(closest("biuld", stages), Some("build"));
        assert_eq!(closest("tset", stages), Some("test"));
        assert_eq!(closest("Review", stages), Some("review"));
        assert_eq!(closest("deploy", stages), None);
        assert_eq!(closest("build", stages), None);
    }
}
