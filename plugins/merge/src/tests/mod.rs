//! Host-side tests on real git repositories: a bare origin, the user's checkout and the run's
//! worktree, with git run for real and `gh` scripted.

mod fixture;
mod identity_tests;
mod local_tests;
mod policy_tests;
mod pr_tests;
mod steps_tests;
mod sync_tests;
