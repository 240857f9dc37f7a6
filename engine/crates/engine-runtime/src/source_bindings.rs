//! Host bindings generated from `wit/source.wit` (world `source`) by wasmtime's `bindgen!`. The
//! `types`, `log` and `exec` interfaces are the stage world's ([`crate::bindings`]), so one
//! linker and one sandbox state serve stages and task sources alike.
#![allow(missing_docs, unused_variables)]

wasmtime::component::bindgen!({
    path: "../../../wit",
    world: "source",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "engine:stage/types": crate::bindings::engine::stage::types,
        "engine:stage/log": crate::bindings::engine::stage::log,
        "engine:stage/exec": crate::bindings::engine::stage::exec,
    },
});
