//! Parsing throughput of the stream parsers on a large recorded-style stream (issue target:
//! at least 100 MB/s): the Claude and Codex `normal` fixtures repeated to ~50 MB, each copy with
//! fresh message ids (so usage deduplication does real work), fed line by line to a fresh
//! parser per iteration.
//!
//! Run with `cargo bench -p engine-agent --bench parse` (add `-- --quick` for a short run).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and bench code: a failed unwrap is a failed test, with its message"
)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_main};
use engine_agent::{BackendSettings, backend};

const TARGET_BYTES: usize = 50 * 1024 * 1024;

/// `fixture` repeated to about [`TARGET_BYTES`], `id_prefix` made unique in each copy.
fn large_stream(fixture: &str, id_prefix: &str) -> String {
    let mut out = String::with_capacity(TARGET_BYTES + fixture.len() * 2);
    let mut copy = 0usize;
    while out.len() < TARGET_BYTES {
        out.push_str(&fixture.replace(id_prefix, &format!("{id_prefix}{copy:07}_")));
        copy += 1;
    }
    out
}

fn bench_backend(c: &mut Criterion, name: &str, fixture: &str, id_prefix: &str) {
    let stream = large_stream(fixture, id_prefix);
    let b = backend(name, &BackendSettings::default(), &BTreeMap::new()).expect("builtin backend");
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(stream.len() as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function(name, |bench| {
        bench.iter(|| {
            let mut parser = b.parser();
            let mut events = 0usize;
            for line in stream.lines() {
                events += parser.stdout_line(black_box(line)).len();
            }
            events += parser.finish(Some(0)).len();
            black_box(events)
        });
    });
    group.finish();
}

fn parse(c: &mut Criterion) {
    bench_backend(
        c,
        "claude",
        include_str!("../tests/fixtures/claude/normal.jsonl"),
        "msg_01",
    );
    bench_backend(
        c,
        "codex",
        include_str!("../tests/fixtures/codex/normal.jsonl"),
        "item_",
    );
}

/// The group `criterion_main!` runs, in a private module because the function
/// `criterion_group!` generates cannot carry a doc comment.
mod group {
    criterion::criterion_group!(benches, super::parse);
}
criterion_main!(group::benches);
