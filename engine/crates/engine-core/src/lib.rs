//! The pure core of engine: the workflow model the state machine runs, the run state, the events
//! that move it and the commands it asks a driver to carry out. The model holds only what the
//! machine decides on; [`grants`] is the vocabulary of what a stage may do, shared by the
//! workflow loader, the runtime and plugins' descriptors.
//!
//! [`step`] is a pure function: no I/O, no clock reads (time arrives inside events). A driver
//! persists every accepted transition before it carries out the commands that follow from it,
//! which is what makes runs resumable after a crash.

pub mod env_policy;
pub mod event;
pub mod grants;
pub mod machine;
pub mod model;
pub mod state;

pub use event::{Command, Event, Failure, FailureKind, Feedback, Spend};
pub use grants::{Permissions, PluginRef, WorkspaceAccess};
pub use machine::{Rejected, Transition, retried_stages, start, step};
pub use model::{ApprovalPolicy, Delivery, OnFailure, OnTimeout, RetryPolicy, Stage, Workflow};
pub use state::{
    AttemptOutcome, AttemptRecord, FinallyOutcome, FinallyRecord, RunState, RunStatus, StagePhase,
    StageState, Task,
};
