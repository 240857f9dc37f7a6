//! Who the merge's commits are by when git cannot say: the engine's own commits fall back to
//! `engine <engine@localhost>` on a machine without `user.name`/`user.email` (a fresh CI
//! runner, a container), and so does the merge, for whichever of the author and the committer
//! git cannot name itself. A configured identity (or `GIT_AUTHOR_*`/`GIT_COMMITTER_*` in the
//! environment) always wins.

use engine_stage_sdk::StageError;

use crate::runner::{Git, Runner};

/// The fallback name, as the engine's own commits use it.
pub const FALLBACK_NAME: &str = "engine";

/// The fallback email address, as the engine's own commits use it.
pub const FALLBACK_EMAIL: &str = "engine@localhost";

/// Extra environment for `git commit-tree`: the fallback identity for the committer, and for
/// the author unless `author_given` (a replayed commit keeps its own), when git has none.
pub fn fallback_env<R: Runner + ?Sized>(
    git: &Git<'_, R>,
    author_given: bool,
) -> Result<Vec<(String, String)>, StageError> {
    let knows = |var: &str| git.raw(&["var", var]).map(|out| out.success());
    let mut env = Vec::new();
    let mut fall_back = |role: &str| {
        env.push((format!("GIT_{role}_NAME"), FALLBACK_NAME.to_string()));
        env.push((format!("GIT_{role}_EMAIL"), FALLBACK_EMAIL.to_string()));
    };
    if !author_given && !knows("GIT_AUTHOR_IDENT")? {
        fall_back("AUTHOR");
    }
    if !knows("GIT_COMMITTER_IDENT")? {
        fall_back("COMMITTER");
    }
    Ok(env)
}
