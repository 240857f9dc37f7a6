//! Issue references (`#12`, `owner/repo#12`, issue URLs) and the dependency lines of an issue
//! body.
//!
//! A dependency line is a line of the body that starts (after list markers, `>` and `**`/`__`
//! emphasis) with `Depends on` or `Blocked by`, any case, optionally followed by `:`; every
//! reference on it is a dependency: `Depends on: #3, #5`, `- **Blocked by:** owner/repo#7`,
//! `Depends on https://github.com/owner/repo/issues/9`. Bare numbers (`Depends on: 3`) are not
//! references. Lines inside fenced code blocks are never read.

/// A reference to an issue.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ref {
    /// `owner/name` when the reference names a repository.
    pub repo: Option<String>,
    /// The issue number.
    pub number: u64,
}

impl Ref {
    /// Reads `#12`, `12`, `owner/repo#12` or `https://github.com/owner/repo/issues/12`.
    pub fn parse(text: &str) -> Option<Ref> {
        let text = text.trim();
        if let Some(rest) = text
            .strip_prefix("https://github.com/")
            .or_else(|| text.strip_prefix("http://github.com/"))
        {
            let mut parts = rest.split(['/', '#', '?']);
            let (owner, name, kind, number) =
                (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
            if kind != "issues" || owner.is_empty() || name.is_empty() {
                return None;
            }
            return Some(Ref {
                repo: Some(format!("{owner}/{name}")),
                number: number_of(number)?,
            });
        }
        if let Some((repo, number)) = text.split_once('#') {
            if repo.is_empty() {
                return Some(Ref {
                    repo: None,
                    number: number_of(number)?,
                });
            }
            let (owner, name) = repo.split_once('/')?;
            let valid = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            };
            if !valid(owner) || !valid(name) {
                return None;
            }
            return Some(Ref {
                repo: Some(repo.to_string()),
                number: number_of(number)?,
            });
        }
        Some(Ref {
            repo: None,
            number: number_of(text)?,
        })
    }

    /// The task id: `#12` for the home repository (or when none is named), else `owner/repo#12`.
    pub fn id(&self, home: Option<&str>) -> String {
        match &self.repo {
            Some(repo) if !home.is_some_and(|h| h.eq_ignore_ascii_case(repo)) => {
                format!("{repo}#{}", self.number)
            }
            _ => format!("#{}", self.number),
        }
    }
}

fn number_of(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|n| *n > 0)
}

/// What the dependency lines of a body say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dependencies {
    /// References, in order, without repeats.
    pub refs: Vec<Ref>,
    /// 1-based lines that look like dependency lines but name no issue.
    pub empty_lines: Vec<usize>,
}

/// The dependencies written in an issue body.
pub fn dependencies(body: &str) -> Dependencies {
    let mut found = Dependencies::default();
    let mut fence: Option<&str> = None;
    for (index, line) in body.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(open) = fence {
            if trimmed.starts_with(open) {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(&trimmed[..3]);
            continue;
        }
        let Some(rest) = dependency_line(trimmed) else {
            continue;
        };
        let refs: Vec<Ref> = rest
            .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '[' | ']'))
            .map(|token| token.trim_matches(|c: char| matches!(c, '*' | '_' | '.' | ':' | '`')))
            .filter(|token| token.contains('#') || token.starts_with("http"))
            .filter_map(Ref::parse)
            .collect();
        if refs.is_empty() {
            let none = rest
                .trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase();
            if !matches!(none.as_str(), "" | "none" | "nothing" | "n/a") {
                found.empty_lines.push(index + 1);
            }
        }
        for r in refs {
            if !found.refs.contains(&r) {
                found.refs.push(r);
            }
        }
    }
    found
}

/// The text after `Depends on` / `Blocked by` when the line is a dependency line.
fn dependency_line(line: &str) -> Option<&str> {
    let mut rest = line;
    loop {
        let before = rest;
        for marker in ["- [ ] ", "- [x] ", "- ", "* ", "+ ", ">"] {
            rest = rest.strip_prefix(marker).unwrap_or(rest);
        }
        rest = rest.trim_start_matches(['*', '_']).trim_start();
        if rest == before {
            break;
        }
    }
    let lower = rest.to_lowercase();
    let keyword = ["depends on", "depends-on", "blocked by"]
        .into_iter()
        .find(|k| lower.starts_with(k))?;
    let after = &rest[keyword.len()..];
    let after = after.trim_start_matches(['*', '_']);
    if !(after.is_empty() || after.starts_with([':', ' ', '\t'])) {
        return None;
    }
    Some(after.trim_start_matches([':', '*', '_']))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(repo: Option<&str>, number: u64) -> Ref {
        Ref {
            repo: repo.map(str::to_string),
            number,
        }
    }

    #[test]
    fn references_in_every_shape() {
        assert_eq!(Ref::parse("#12"), Some(r(None, 12)));
        assert_eq!(Ref::parse(" 12 "), Some(r(None, 12)));
        assert_eq!(Ref::parse("octo/app#7"), Some(r(Some("octo/app"), 7)));
        assert_eq!(
            Ref::parse("https://github.com/octo/app/issues/9#issuecomment-1"),
            Some(r(Some("octo/app"), 9))
        );
        for bad in [
            "",
            "#",
            "#0",
            "#x",
            "12a",
            "octo#3",
            "https://github.com/octo/app/pull/3",
            "a b/c#1",
        ] {
            assert_eq!(Ref::parse(bad), None, "{bad}");
        }
        assert_eq!(r(Some("Octo/App"), 3).id(Some("octo/app")), "#3");
        assert_eq!(r(Some("octo/lib"), 3).id(Some("octo/app")), "octo/lib#3");
        assert_eq!(r(Some("octo/lib"), 3).id(None), "octo/lib#3");
        assert_eq!(r(None, 3).id(Some("octo/app")), "#3");
    }

    #[test]
    fn dependency_lines_in_markdown() {
        let body = "Intro mentions #99.\n\nDepends on: #3, #5\r\n- **Blocked by:** octo/lib#7 and #3.\n\
                    > depends on https://github.com/octo/app/issues/11\n\
                    ```\nDepends on: #100\n```\nDepends on: none\nDepends on: 4\n\
                    Dependson: #8\nDepends onto #9\n";
        let found = dependencies(body);
        assert_eq!(
            found.refs,
            [
                r(None, 3),
                r(None, 5),
                r(Some("octo/lib"), 7),
                r(Some("octo/app"), 11)
            ]
        );
        assert_eq!(found.empty_lines, [10]);
    }
}
