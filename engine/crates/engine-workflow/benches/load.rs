//! How long loading a workflow takes: the shipped workflows (`workflows/*.yaml`) and a large
//! generated one (2,000 stages in a chain), each from text to a checked [`LoadedWorkflow`].
//!
//! `cargo bench -p engine-workflow --bench load`
//!
//! [`LoadedWorkflow`]: engine_workflow::LoadedWorkflow

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};

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
        text.push_str(&format!("  s{i}:\n    uses: builtin:gate\n"));
        if i > 0 {
            text.push_str(&format!("    needs: [s{}]\n", i - 1));
        }
    }
    text
}

fn load(c: &mut Criterion) {
    let base = Path::new(".");
    for (name, text) in SHIPPED {
        // Each must load, or the benchmark measures an error path.
        if let Err(diagnostics) = engine_workflow::load_str(name, base, text) {
            panic!("{name} does not load:\n{diagnostics}");
        }
        c.bench_function(&format!("load {name}.yaml"), |b| {
            b.iter(|| engine_workflow::load_str(name, base, black_box(text)))
        });
    }
    let large = chain(2_000);
    c.bench_function("load chain of 2000 stages", |b| {
        b.iter(|| engine_workflow::load_str("chain.yaml", base, black_box(&large)))
    });
}

criterion_group!(benches, load);
criterion_main!(benches);
