//! examples/plugins/rust built with `engine plugin build` and run in a workflow, and
//! docs/plugins/rust.md followed literally (being built).
