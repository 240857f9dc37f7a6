//! Durable run storage for engine.
//!
//! Every run has fixed facts ([`RunMeta`]), a snapshot of its state ([`engine_core::RunState`])
//! and an event log. [`Store::commit`] appends an event and replaces the snapshot in one
//! transaction and makes it durable (fsync) before returning, so a driver that starts side
//! effects only after `commit` returns never loses an acknowledged transition, even on kill -9.
//!
//! [`SledStore`] is the embedded on-disk backend, [`MemoryStore`] an in-memory one with the same
//! semantics for tests and benchmarks. [`StateDir`] is the per-repository state directory: it
//! holds the sled database and an exclusive process lock; other processes talk to the lock
//! holder through control files ([`request_cancel`]) and read runs from the JSON mirrors it
//! keeps ([`read_mirrors`], [`read_mirror`]).

#![warn(missing_docs)]

mod control;
mod durability;
mod error;
mod keys;
mod memory;
mod mirror;
mod mirror_refresh;
mod mirror_writer;
mod record;
mod sled_store;
mod spend_index;
mod state_dir;
mod store;
mod summaries;

pub use control::{
    ApprovalAnswer, approval_pending, cancel_pending, pause_pending, request_approval,
    request_cancel, request_pause, take_approval_requests, take_cancel_requests,
    take_pause_requests,
};
pub use error::StoreError;
pub use memory::MemoryStore;
pub use mirror::{MirrorListing, MirroredRun, mirror_dir, read_mirror, read_mirrors};
pub use record::{RunMeta, RunRecord, RunSummary, TaskLink};
pub use sled_store::SledStore;
pub use spend_index::{DAY_MS, attempt_day, spend_by_day, utc_day};
pub use state_dir::{StateDir, lock_holder};
pub use store::Store;

#[cfg(test)]
mod mirror_refresh_tests;
#[cfg(test)]
mod mirror_tests;
#[cfg(test)]
mod spend_index_tests;
#[cfg(test)]
mod store_tests;
#[cfg(test)]
mod test_data;
