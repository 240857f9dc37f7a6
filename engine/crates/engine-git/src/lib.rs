//! Git operations for engine, through the `git` command-line tool.
//!
//! A run works in its own linked worktree on its own branch, created from a base commit, so it
//! never touches the user's checkout, index, uncommitted changes or untracked files. Every git
//! command runs with a controlled environment (no prompts, no pager, `LC_ALL=C`, no inherited
//! `GIT_DIR`/`GIT_WORK_TREE`/`GIT_INDEX_FILE`, no optional index refreshes); failures carry the
//! command line and git's stderr.

#![warn(missing_docs)]

mod command;
mod error;
mod naming;
mod repo;
mod snapshot;
mod worktree;

pub use error::GitError;
pub use naming::{branch_name, slugify};
pub use repo::Repo;
pub use worktree::WorktreeEntry;

#[cfg(test)]
mod repo_tests;
#[cfg(test)]
mod test_repo;
#[cfg(test)]
mod worktree_tests;
