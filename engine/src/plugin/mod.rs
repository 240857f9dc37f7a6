//! What the `engine plugin` commands do: inspect a component and say what it is
//! ([`check`]), create a project ([`scaffold`]), build it with pinned toolchains ([`build`],
//! [`toolchain`]), update a workflow's pins ([`pin`]) and run one stage attempt locally
//! ([`local_run`]).

pub mod build;
pub mod check;
pub mod local_run;
pub mod pin;
pub mod scaffold;
pub mod toolchain;
