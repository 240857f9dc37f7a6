//! `engine init`: what it detects in a repository (the test command, the agent CLI) and the
//! workflow it renders from `workflows/default.yaml`. Pure logic; the command is
//! `cli/init.rs`.

mod detect;
mod render;

pub use detect::{
    BACKENDS, Backend, PLACEHOLDER_COMMAND, TestCommand, backend_named, detect_backend,
    detect_tests,
};
pub use render::{Choices, RenderError, SCHEMA_FILE_NAME, TEMPLATE, render};
