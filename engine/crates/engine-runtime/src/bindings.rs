//! Host bindings generated from `wit/stage.wit` (world `stage`) by wasmtime's `bindgen!`.
#![allow(missing_docs, unused_variables)]

wasmtime::component::bindgen!({
    path: "../../../wit",
    world: "stage",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "engine:stage/agent.session": crate::agent::SessionSlot,
    },
});
