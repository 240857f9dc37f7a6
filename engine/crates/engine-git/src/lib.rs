//! Git operations for engine, through the `git` command-line tool.
//!
//! A run works in its own linked worktree on its own branch, created from a base commit, so it
//! never touches the user's checkout, index, uncommitted changes or untracked files. Every git
//! command runs with a controlled environment (no prompts, no pager, `LC_ALL=C`, no inherited
//! `GIT_DIR`/`GIT_WORK_TREE`/`GIT_INDEX_FILE`, no optional index refreshes); failures carry the
//! command line and git's stderr.

#![warn(missing_docs)]

mod admin_dir;
pub mod blob;
mod cleanup;
mod command;
mod commit;
mod error;
mod hooks;
mod identity;
mod maintenance;
mod naming;
mod object_lookup;
mod pool;
mod pool_claim;
mod pool_index;
mod ref_packing;
mod refs;
mod refs_guard;
mod register;
mod removal;
mod repo;
mod snapshot;
pub mod turn;
mod worktree;
mod worktree_list;

pub use commit::Identity;
pub use error::GitError;
pub use naming::{branch_name, slugify};
pub use pool::{POOL_DIR, Retired};
pub use ref_packing::LOOSE_REFS_BEFORE_PACKING;
pub use refs_guard::{BranchRefPaths, RepoSnapshot};
pub use removal::wait_for_removals;
pub use repo::Repo;
pub use worktree::{Added, WorktreeEntry, WorktreeHolds};

#[cfg(test)]
mod cleanup_tests;
#[cfg(test)]
mod commit_tests;
#[cfg(test)]
mod in_process_tests;
#[cfg(test)]
mod pool_crash_tests;
#[cfg(test)]
mod pool_tests;
#[cfg(test)]
mod register_tests;
#[cfg(test)]
mod repo_tests;
#[cfg(test)]
mod test_repo;
#[cfg(test)]
mod turn_tests;
#[cfg(test)]
mod worktree_tests;
