//! examples/plugins/python built with `engine plugin build` and run in a workflow, and
//! docs/plugins/python.md followed literally (being built).
