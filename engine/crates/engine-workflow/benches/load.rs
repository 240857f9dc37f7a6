//! How long loading a workflow takes: the shipped workflows (`workflows/*.yaml`) and a large
//! generated one (2,000 stages in a chain), each from text to a checked [`LoadedWorkflow`].
//!
//! `cargo bench -p engine-workflow --bench load`
//!
//! [`LoadedWorkflow`]: engine_workflow::LoadedWorkflow

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and bench code: a failed unwrap is a failed test, with its message"
)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_main};

/// The shipped workflows, by name.
const SHIPPED: [(&str, &str); 3] = [
    (
        "default",
        include_str!("../../../../workflows/default.yaml"),
    ),
    ("demo", include_str!("../../../../workflows/demo.yaml")),
    (
        "rust-checks",
        include_str!("../../../../workflows/rust-checks.yaml"),
    ),
];

/// A workflow of `stages` gate stages, each needing the one before.
fn chain(stages: usize) -> String {
    let mut text = String::from("name: chain\nstages:\n");
    for i in 0..stages {
        writeln!(text, "  s{i}:\n    uses: builtin:gate").unwrap();
        if i > 0 {
            writeln!(text, "    needs: [s{}]", i - 1).unwrap();
        }
    }
    text
}

/// Loads each shipped workflow and the generated chain.
fn load(c: &mut Criterion) {
    let base = Path::new(".");
    for (name, text) in SHIPPED {
        // Each must load, or the benchmark measures an error path.
        if let Err(diagnostics) = engine_workflow::load_str(name, base, text) {
            panic!("{name} does not load:\n{diagnostics}");
        }
        c.bench_function(&format!("load {name}.yaml"), |b| {
            b.iter(|| engine_workflow::load_str(name, base, black_box(text)));
        });
    }
    let large = chain(2_000);
    c.bench_function("load chain of 2000 stages", |b| {
        b.iter(|| engine_workflow::load_str("chain.yaml", base, black_box(&large)));
    });
}

/// The group `criterion_main!` runs, in a private module: `criterion_group!` writes a `pub fn`
/// that cannot carry a doc comment.
mod group {
    criterion::criterion_group!(benches, super::load);
}

criterion_main!(group::benches);
