//! The globs of skill gates: which changed files a gate's `pattern` matches.
//!
//! Paths and patterns use `/`. `*` matches any run of characters within one path part, `?` one
//! character other than `/`, `**` (a whole part) any number of parts, zero included. A pattern
//! without `/` matches the file name in any directory: `*.rs` is `**/*.rs`. A leading `/`
//! anchors a pattern at the repository root.

/// Whether `path` (relative to the repository root) matches `pattern`.
pub fn glob_matches(pattern: &str, path: &str) -> bool {
    let pattern = pattern.trim();
    let (pattern, anchored) = match pattern.strip_prefix('/') {
        Some(rest) => (rest, true),
        None => (pattern, pattern.contains('/')),
    };
    let parts: Vec<&str> = pattern.split('/').collect();
    let path_parts: Vec<&str> = path.split('/').collect();
    if anchored {
        match_parts(&parts, &path_parts)
    } else {
        path_parts
            .last()
            .is_some_and(|name| match_part(pattern.as_bytes(), name.as_bytes()))
    }
}

fn match_parts(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|skip| match_parts(rest, &path[skip..])),
        Some((first, rest)) => path.split_first().is_some_and(|(part, path_rest)| {
            match_part(first.as_bytes(), part.as_bytes()) && match_parts(rest, path_rest)
        }),
    }
}

/// One part: `*` any run, `?` one character (by bytes: multi-byte characters match `*`).
fn match_part(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::glob_matches;

    #[test]
    fn names_match_in_any_directory() {
        assert!(glob_matches("*.rs", "src/a/b.rs"));
        assert!(glob_matches("*.rs", "b.rs"));
        assert!(!glob_matches("*.rs", "src/b.rsx"));
        assert!(glob_matches("Cargo.toml", "crates/x/Cargo.toml"));
        assert!(glob_matches("?.md", "docs/a.md"));
        assert!(!glob_matches("?.md", "docs/ab.md"));
    }

    #[test]
    fn paths_are_anchored_and_double_star_spans_parts() {
        assert!(glob_matches("src/**/*.rs", "src/a.rs"));
        assert!(glob_matches("src/**/*.rs", "src/x/y/a.rs"));
        assert!(!glob_matches("src/**/*.rs", "lib/src/a.rs"));
        assert!(glob_matches("docs/*", "docs/a.md"));
        assert!(!glob_matches("docs/*", "docs/x/a.md"));
        assert!(glob_matches("docs/**", "docs/x/a.md"));
        assert!(glob_matches("/Cargo.toml", "Cargo.toml"));
        assert!(!glob_matches("/Cargo.toml", "x/Cargo.toml"));
        assert!(glob_matches("**", "anything/at/all"));
    }

    #[test]
    fn stars_backtrack() {
        assert!(glob_matches("a*b*c", "aXbYbZc"));
        assert!(!glob_matches("a*b*c", "aXbYbZ"));
        assert!(glob_matches("*", "é.txt"));
    }
}
