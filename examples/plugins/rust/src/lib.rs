//! changelog-check: an engine stage that passes when the run changed CHANGELOG.md.
//!
//! It asks git which files differ between the run's base commit (`ctx.git.base_commit`) and the
//! worktree, committed or not, plus the new files git does not track yet, and fails with a clear
//! message when the changelog is not among them. The decision is a plain function
//! ([`changelog_changed`]), tested on this machine with `cargo test`.

use std::time::Duration;

use engine_stage_sdk::exec::Command;
use engine_stage_sdk::{
    Context, Descriptor, Permissions, Stage, StageError, Success, WORKSPACE, WorkspaceAccess, log,
};
use serde::Deserialize;
use serde_json::json;

/// How long one git command may take.
const GIT_TIMEOUT: Duration = Duration::from_secs(60);

/// The stage.
struct ChangelogCheck;

/// The stage's `with:` block.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The changelog, relative to the repository's root.
    #[serde(default = "default_file")]
    file: String,
}

fn default_file() -> String {
    "CHANGELOG.md".to_string()
}

impl Stage for ChangelogCheck {
    type Config = Config;

    fn describe() -> Descriptor {
        Descriptor::new(
            "changelog-check",
            env!("CARGO_PKG_VERSION"),
            "Passes when the run's diff changes the changelog (CHANGELOG.md)",
        )
        .config_schema(&json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "file": { "type": "string", "minLength": 1, "default": "CHANGELOG.md" }
            }
        }))
        // Read the worktree and run git in it; nothing else.
        .permissions(Permissions {
            workspace: WorkspaceAccess::Read,
            exec: vec!["git".into()],
            ..Permissions::default()
        })
    }

    fn run(ctx: Context<Config>) -> Result<Success, StageError> {
        let file = ctx.config.file.as_str();
        let Some(git) = &ctx.git else {
            return Err(StageError::fatal(
                "this run has no git worktree, so there is no diff to check",
            ));
        };
        let base = git.base_commit.as_str();
        let short = &base[..base.len().min(10)];
        let mut changed = split_names(&git_output(&["diff", "--name-only", "-z", base, "--"])?);
        changed.extend(split_names(&git_output(&[
            "ls-files",
            "--others",
            "--exclude-standard",
            "-z",
        ])?));
        log::info(&format!("{} file(s) changed since {short}", changed.len()));
        if !changelog_changed(&changed, file) {
            return Err(StageError::fatal(format!(
                "{file} was not changed in this run: add an entry that describes the change \
                 ({} other file(s) changed since the base commit {short})",
                changed.len()
            ))
            .with_detail(json!({ "file": file, "base_commit": base, "changed": changed })));
        }
        Ok(Success::new(format!("{file} was changed"))
            .output("file", file)
            .output("changed", changed))
    }
}

/// Runs `git ARGS` in the worktree and returns its stdout; a git that cannot run or fails is a
/// fatal failure with git's own words.
fn git_output(args: &[&str]) -> Result<String, StageError> {
    let out = Command::new("git")
        .args(args.iter().copied())
        .cwd(WORKSPACE)
        .timeout(GIT_TIMEOUT)
        .run()
        .map_err(|e| StageError::fatal(format!("cannot run git: {}", e.text())))?;
    if !out.success() {
        return Err(StageError::fatal(format!(
            "git {} failed ({}): {}",
            args.first().copied().unwrap_or_default(),
            out.status_text(),
            out.stderr.trim()
        )));
    }
    Ok(out.stdout)
}

/// The paths of git's `-z` output (NUL-separated).
fn split_names(output: &str) -> Vec<String> {
    output
        .split('\0')
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether `file` (`CHANGELOG.md`, `./docs/CHANGELOG.md`) is among the `changed` paths git
/// printed (relative to the repository's root).
fn changelog_changed(changed: &[String], file: &str) -> bool {
    let wanted = normalise(file);
    changed.iter().any(|path| normalise(path) == wanted)
}

/// `path` without `.` segments, empty segments or surrounding blanks.
fn normalise(path: &str) -> String {
    path.trim()
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect::<Vec<_>>()
        .join("/")
}

engine_stage_sdk::export_stage!(ChangelogCheck);

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn the_changelog_is_found_among_the_changed_paths() {
        let changed = names(&["src/lib.rs", "CHANGELOG.md"]);
        assert!(changelog_changed(&changed, "CHANGELOG.md"));
        assert!(changelog_changed(&changed, "./CHANGELOG.md"));
        assert!(!changelog_changed(&names(&["src/lib.rs"]), "CHANGELOG.md"));
        assert!(!changelog_changed(
            &names(&["docs/CHANGELOG.md"]),
            "CHANGELOG.md"
        ));
        assert!(changelog_changed(
            &names(&["docs/CHANGELOG.md"]),
            "docs//CHANGELOG.md"
        ));
    }

    #[test]
    fn gits_nul_separated_output_is_split_into_paths() {
        assert_eq!(
            split_names("a.txt\0dir/b c.md\0"),
            names(&["a.txt", "dir/b c.md"])
        );
        assert!(split_names("").is_empty());
    }
}
