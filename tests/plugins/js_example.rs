//! examples/plugins/js built with `engine plugin build` and run in a workflow, and
//! docs/plugins/js.md followed literally (being built).
