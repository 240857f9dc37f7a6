//! The plugin-author suite: the shipped example plugins (examples/plugins/{rust,python,js})
//! built with `engine plugin build` and run in workflows by the real `engine` binary, and each
//! language's guide (docs/plugins/<lang>.md) followed literally. It needs the pinned plugin
//! toolchains (componentize-py, jco/componentize-js, the wasm32-wasip2 target), which
//! `engine plugin build` installs on first use under `ENGINE_TOOLS_DIR`; like the conformance
//! suite it is its own test target, run by `scripts/test.sh plugins`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and bench code: a failed unwrap is a failed test, with its message"
)]

#[path = "../support/mod.rs"]
mod support;

mod examples;
mod guide;
mod js_example;
mod python_example;
mod rust_example;
mod rust_new;
