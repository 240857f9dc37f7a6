//! The workflow's `git:` section: base branch, run branch prefix, the commits engine makes and
//! whether a finished run's worktree is kept.

use serde_json::{Map, Value};

use crate::diagnostic::Problem;
use crate::field_path::FieldPath;

/// The default `git.branch_prefix`.
pub const DEFAULT_BRANCH_PREFIX: &str = "engine/";

/// The default `git.worktree_pool`: how many idle worktrees a repository keeps for reuse.
pub const DEFAULT_WORKTREE_POOL: u32 = 2;

/// The largest `git.worktree_pool` (the schema's maximum).
pub const MAX_WORKTREE_POOL: u32 = 64;

/// The default `git.commit.message` template.
pub const DEFAULT_COMMIT_MESSAGE: &str =
    "{{ task.title }}\n\n{{ task.body }}\n\nEngine-Run: {{ run.id }}\nEngine-Stage: {{ stage }}";

/// When a run's worktree is kept after the run ends (`git.keep_worktree`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeepWorktree {
    /// Always kept (until `engine gc`).
    Always,
    /// Kept when the run failed or was cancelled, removed when it succeeded (the default).
    #[default]
    OnFailure,
    /// Always removed.
    Never,
}

impl KeepWorktree {
    /// Whether a run that ended (`succeeded` or not) keeps its worktree.
    pub fn keeps(self, succeeded: bool) -> bool {
        match self {
            KeepWorktree::Always => true,
            KeepWorktree::OnFailure => !succeeded,
            KeepWorktree::Never => false,
        }
    }
}

/// Everything the workflow's `git:` section says, defaults resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitSettings {
    /// The base branch (`git.base`); `None`: detected (`origin/HEAD`, `main`, `master`).
    pub base: Option<String>,
    /// Prefix of run branch names (`git.branch_prefix`, default `engine/`).
    pub branch_prefix: String,
    /// The commit message template (`git.commit.message`, default [`DEFAULT_COMMIT_MESSAGE`]):
    /// minijinja, with `task`, `run` and `stage`. Its syntax was checked at load time.
    pub commit_message: String,
    /// The commits' author as (name, email); `None`: git's configuration.
    pub author: Option<(String, String)>,
    /// The commits' committer as (name, email); `None`: git's configuration.
    pub committer: Option<(String, String)>,
    /// When the worktree is kept after the run.
    pub keep_worktree: KeepWorktree,
    /// How many idle worktrees the repository keeps for the next runs to reuse
    /// (`git.worktree_pool`, default [`DEFAULT_WORKTREE_POOL`]; 0: every run checks out a new
    /// worktree and removes it at the end).
    pub worktree_pool: u32,
}

impl Default for GitSettings {
    fn default() -> Self {
        GitSettings {
            base: None,
            branch_prefix: DEFAULT_BRANCH_PREFIX.to_string(),
            commit_message: DEFAULT_COMMIT_MESSAGE.to_string(),
            author: None,
            committer: None,
            keep_worktree: KeepWorktree::default(),
            worktree_pool: DEFAULT_WORKTREE_POOL,
        }
    }
}

/// Reads the `git:` section from the document's root; value problems go to `problems`. Fields
/// of the wrong type are left to the schema and defaulted here.
pub(crate) fn read_git_settings(
    root: &Map<String, Value>,
    problems: &mut Vec<Problem>,
) -> GitSettings {
    let path = FieldPath::keys(&["git"]);
    let git = root.get("git").and_then(Value::as_object);
    let field = |name: &str| git.and_then(|g| g.get(name)).and_then(Value::as_str);
    let commit = git.and_then(|g| g.get("commit")).and_then(Value::as_object);
    let commit_path = path.key("commit");
    let commit_field = |name: &str| commit.and_then(|c| c.get(name)).and_then(Value::as_str);
    let mut settings = GitSettings::default();

    if let Some(base) = field("base") {
        match check_revision(base) {
            Ok(()) => settings.base = Some(base.to_string()),
            Err(message) => problems.push(Problem::at(path.key("base"), message)),
        }
    }
    if let Some(prefix) = field("branch_prefix") {
        match check_branch_prefix(prefix) {
            Ok(()) => settings.branch_prefix = prefix.to_string(),
            Err(e) => problems.push(Problem::at(path.key("branch_prefix"), e.to_string())),
        }
    }
    if let Some(message) = commit_field("message") {
        match check_template(message) {
            Ok(()) => settings.commit_message = message.to_string(),
            Err(e) => problems.push(Problem::at(commit_path.key("message"), e.to_string())),
        }
    }
    for (name, slot) in [
        ("author", &mut settings.author),
        ("committer", &mut settings.committer),
    ] {
        if let Some(text) = commit_field(name) {
            match parse_identity(text) {
                Ok(identity) => *slot = Some(identity),
                Err(e) => problems.push(Problem::at(commit_path.key(name), e.to_string())),
            }
        }
    }
    settings.keep_worktree = match field("keep_worktree") {
        Some("always") => KeepWorktree::Always,
        Some("never") => KeepWorktree::Never,
        // `on_failure`, absent, or a value the schema reports.
        _ => KeepWorktree::OnFailure,
    };
    // A value of the wrong type or out of range is the schema's to report.
    if let Some(size) = git
        .and_then(|g| g.get("worktree_pool"))
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n <= MAX_WORKTREE_POOL)
    {
        settings.worktree_pool = size;
    }
    settings
}

/// A `git.commit.author`/`committer` that is not `Name <email>`: the text as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be `Name <email>`, e.g. `Engine Bot <engine@example.invalid>` (got \"{0}\")")]
pub struct NotAnIdentity(pub String);

/// A `git.branch_prefix` that does not make valid branch names: the prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "\"{0}\" does not make valid branch names: use letters, digits, '.', '_', '-' and '/', no \
     leading '-' or '/', no \"..\" or \"//\", no part starting with '.' or ending with \
     \".lock\" (e.g. \"engine/\")"
)]
struct BadBranchPrefix(String);

/// A `git.commit.message` that is not a valid template.
#[derive(Debug, thiserror::Error)]
#[error("not a valid template: {0}")]
struct InvalidTemplate(minijinja::Error);

/// Parses `Name <email>` into (name, email): both non-empty, one line, the name without `<`
/// or `>`, the email without spaces or angle brackets and with an `@`.
pub fn parse_identity(text: &str) -> Result<(String, String), NotAnIdentity> {
    let trimmed = text.trim();
    let parsed = (|| {
        if trimmed.contains(['\n', '\r']) {
            return None;
        }
        let inner = trimmed.strip_suffix('>')?;
        let (name, email) = inner.split_once('<')?;
        let name = name.trim();
        let email_ok = !email.is_empty()
            && email.contains('@')
            && !email.contains(|c: char| c.is_whitespace() || c == '<' || c == '>');
        let name_ok = !name.is_empty() && !name.contains(['<', '>']);
        (name_ok && email_ok).then(|| (name.to_string(), email.to_string()))
    })();
    parsed.ok_or_else(|| NotAnIdentity(text.to_string()))
}

/// A base branch or commit git will not misread: a branch name by `git check-ref-format
/// --branch` rules (no `..`, `@{`, `~`, `^`, `:`, `?`, `*`, `[`, `\\`, no leading `-` or `/`,
/// no path component starting with `.` or ending in `.lock`), or a commit id. A range such as
/// `main..x` or a path such as `../../x` is refused.
pub fn check_base(base: &str) -> Result<(), String> {
    let not_a_branch = |why: &str| format!("\"{base}\" is not a branch name: {why}");
    if base.is_empty() {
        return Err("the base branch is empty".into());
    }
    if base.starts_with('-') || base.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(not_a_branch("no leading '-', spaces or control characters"));
    }
    if base.contains("..") || base.contains("@{") || base == "@" {
        return Err(not_a_branch(
            "a base is one branch or commit, not a range or a reflog entry (no `..`, `@{`)",
        ));
    }
    if base.contains(['~', '^', ':', '?', '*', '[', '\\']) {
        return Err(not_a_branch(
            "no ~ ^ : ? * [ or \\ (give the branch itself)",
        ));
    }
    #[expect(
        clippy::case_sensitive_file_extension_comparisons,
        reason = "`.lock` is git's ref-name rule, not a file extension; git matches it exactly"
    )]
    let bad_component = base
        .split('/')
        .any(|part| part.is_empty() || part.starts_with('.') || part.ends_with(".lock"));
    if bad_component || base.ends_with('.') {
        return Err(not_a_branch(
            "no empty path component, none starting with '.' or ending in \".lock\"",
        ));
    }
    Ok(())
}

fn check_revision(base: &str) -> Result<(), String> {
    check_base(base)
}

/// A prefix that makes valid branch names (`git check-ref-format --branch` rules, for the
/// characters engine's own branch names use).
fn check_branch_prefix(prefix: &str) -> Result<(), BadBranchPrefix> {
    let sample = format!("{prefix}x");
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/');
    #[expect(
        clippy::case_sensitive_file_extension_comparisons,
        reason = "`.lock` is git's ref-name rule, not a file extension; git matches it exactly"
    )]
    let valid = sample.chars().all(allowed)
        && !sample.starts_with(['-', '/'])
        && !sample.contains("..")
        && !sample.contains("//")
        && sample
            .split('/')
            .all(|part| !part.starts_with('.') && !part.ends_with(".lock"));
    if valid {
        Ok(())
    } else {
        Err(BadBranchPrefix(prefix.to_string()))
    }
}

/// Checks the template's syntax (rendering, with its variables, is the host's job).
fn check_template(source: &str) -> Result<(), InvalidTemplate> {
    let env = minijinja::Environment::new();
    env.template_from_str(source)
        .map(|_| ())
        .map_err(InvalidTemplate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(document: &Value) -> (GitSettings, Vec<String>) {
        let mut problems = Vec::new();
        let settings = read_git_settings(document.as_object().unwrap(), &mut problems);
        let texts = problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect();
        (settings, texts)
    }

    #[test]
    fn defaults_without_a_git_section() {
        let (settings, problems) = read(&json!({"name": "x"}));
        assert!(problems.is_empty());
        assert_eq!(settings, GitSettings::default());
        assert_eq!(settings.branch_prefix, "engine/");
        assert_eq!(settings.keep_worktree, KeepWorktree::OnFailure);
        assert_eq!(settings.worktree_pool, DEFAULT_WORKTREE_POOL);
        assert!(settings.commit_message.contains("Engine-Run: {{ run.id }}"));
    }

    #[test]
    fn every_field_is_read() {
        let (settings, problems) = read(&json!({"git": {
            "base": "trunk", "branch_prefix": "bots/engine-",
            "commit": {"message": "{{ task.title }}", "author": " Ada <ada@x.invalid> ",
                       "committer": "Engine Bot <engine@example.invalid>"},
            "keep_worktree": "never", "worktree_pool": 0
        }}));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(settings.base.as_deref(), Some("trunk"));
        assert_eq!(settings.branch_prefix, "bots/engine-");
        assert_eq!(settings.commit_message, "{{ task.title }}");
        assert_eq!(
            settings.author,
            Some(("Ada".to_string(), "ada@x.invalid".to_string()))
        );
        assert_eq!(
            settings.committer,
            Some(("Engine Bot".into(), "engine@example.invalid".into()))
        );
        assert_eq!(settings.keep_worktree, KeepWorktree::Never);
        assert_eq!(settings.worktree_pool, 0);
    }

    #[test]
    fn bad_values_are_reported_on_their_fields() {
        let (settings, problems) = read(&json!({"git": {
            "base": "-x", "branch_prefix": "a..b/",
            "commit": {"message": "{{ task.title ", "author": "Ada", "committer": "<a@b>"}
        }}));
        let joined = problems.join("\n");
        for expected in [
            "git.base: \"-x\" is not a branch name",
            "git.branch_prefix: \"a..b/\" does not make valid branch names",
            "git.commit.message: not a valid template",
            "git.commit.author: must be `Name <email>`",
            "git.commit.committer: must be `Name <email>`",
        ] {
            assert!(
                joined.contains(expected),
                "missing {expected:?} in\n{joined}"
            );
        }
        assert_eq!(problems.len(), 5);
        assert_eq!(settings.branch_prefix, DEFAULT_BRANCH_PREFIX);
    }

    #[test]
    fn identities() {
        assert_eq!(
            parse_identity("Engine Bot <engine@example.invalid>"),
            Ok(("Engine Bot".into(), "engine@example.invalid".into()))
        );
        for bad in [
            "",
            "Ada",
            "<a@b>",
            "Ada <>",
            "Ada <a b@c>",
            "Ada <ab>",
            "Ada <a@b> x",
            "A<d>a <a@b>",
            "Ada\n<a@b>",
        ] {
            assert_eq!(
                parse_identity(bad),
                Err(NotAnIdentity(bad.to_string())),
                "{bad:?} must be refused"
            );
        }
        assert_eq!(
            NotAnIdentity("Ada".into()).to_string(),
            "must be `Name <email>`, e.g. `Engine Bot <engine@example.invalid>` (got \"Ada\")"
        );
    }

    #[test]
    fn branch_prefixes() {
        for good in ["engine/", "", "bots/engine-", "a.b_c/"] {
            assert!(check_branch_prefix(good).is_ok(), "{good:?}");
        }
        for bad in [
            "/x", "-x", "a//", "a b/", ".hidden/", "x.lock/", "a..b", "ü/",
        ] {
            assert_eq!(
                check_branch_prefix(bad),
                Err(BadBranchPrefix(bad.to_string())),
                "{bad:?}"
            );
        }
        assert_eq!(
            BadBranchPrefix("/x".into()).to_string(),
            "\"/x\" does not make valid branch names: use letters, digits, '.', '_', '-' and \
             '/', no leading '-' or '/', no \"..\" or \"//\", no part starting with '.' or \
             ending with \".lock\" (e.g. \"engine/\")"
        );
    }

    #[test]
    fn keep_worktree_decides_by_outcome() {
        assert!(KeepWorktree::Always.keeps(true));
        assert!(!KeepWorktree::OnFailure.keeps(true));
        assert!(KeepWorktree::OnFailure.keeps(false));
        assert!(!KeepWorktree::Never.keeps(false));
    }
}
