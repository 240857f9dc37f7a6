//! Mutations for the fuzz tests (`fuzz_loader`, `fuzz_parsers`, `fuzz_tasks`): a proptest
//! strategy of edits applied to a seed input from the test's corpus (the fixtures): bit flips,
//! byte changes, truncations, deletions, duplications, splices with another seed, deep nesting,
//! huge numbers, invalid UTF-8 and tokens of the format under test.
//!
//! Shared by path (`#[path = ".../tests/fuzz/mutate.rs"] mod mutate;`) so each crate's fuzz
//! test needs nothing but proptest. The number of cases comes from `ENGINE_FUZZ_CASES`
//! ([`cases`]); a failing case is printed by proptest (shrunk), and is kept as a named
//! regression test in the fuzz test file.

#![allow(dead_code)]

use proptest::prelude::*;

/// Cases per fuzz test when `ENGINE_FUZZ_CASES` is not set: small enough for CI (each test
/// binary runs in well under a minute in a debug build).
pub const DEFAULT_CASES: u32 = 256;

/// The longest input a case may grow to: the time each case takes stays bounded.
pub const MAX_INPUT_BYTES: usize = 256 * 1024;

/// Cases per fuzz test: `ENGINE_FUZZ_CASES`, else [`DEFAULT_CASES`].
pub fn cases() -> u32 {
    std::env::var("ENGINE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

/// The seed of the case generator: `ENGINE_FUZZ_SEED` (a number, or `random` for a new one
/// each run), else a fixed one, so CI tries the same cases every time.
pub fn rng_seed() -> proptest::test_runner::RngSeed {
    use proptest::test_runner::RngSeed;
    match std::env::var("ENGINE_FUZZ_SEED")
        .ok()
        .as_deref()
        .map(str::trim)
    {
        Some("random") => RngSeed::Random,
        Some(text) => text.parse().map_or(RngSeed::Fixed(12), RngSeed::Fixed),
        None => RngSeed::Fixed(12),
    }
}

/// The proptest config of a fuzz test: [`cases`] cases from [`rng_seed`], no regression files
/// (failing inputs are kept as named tests instead).
pub fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        max_shrink_iters: 2_000,
        rng_seed: rng_seed(),
        ..ProptestConfig::default()
    }
}

/// Bytes that are not UTF-8 (a lone continuation byte, a truncated sequence, a surrogate, a
/// code point past U+10FFFF, an overlong encoding).
const INVALID_UTF8: &[&[u8]] = &[
    b"\xff",
    b"\x80",
    b"\xc3",
    b"\xe2\x82",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xc0\xaf",
];

/// Numbers that overflow or round (integers past u64/i64, exponents past f64, NaN words).
const HUGE_NUMBERS: &[&str] = &[
    "18446744073709551616",
    "-9223372036854775809",
    "340282366920938463463374607431768211456",
    "1e309",
    "-1e309",
    "1e-400",
    "NaN",
    "Infinity",
    "-0",
    "0x7fffffffffffffff",
    "99999999999999999999999999999999999999999999999999999999999999999999999999999999",
];

/// Openers and closers of nesting, for the formats under test (YAML/JSON flow collections,
/// JSON objects, block sequences, Markdown lists and headings, templates).
const NESTING: &[(&str, &str)] = &[
    ("[", "]"),
    ("{", "}"),
    ("{\"a\":", "}"),
    ("- ", ""),
    ("  ", ""),
    ("> ", ""),
    ("{% if true %}", "{% endif %}"),
    ("{{ (", ") }}"),
];

/// One edit of an input. Positions are taken modulo the input's length.
#[derive(Debug, Clone)]
pub enum Op {
    /// Flips one bit.
    FlipBit { at: usize, bit: u8 },
    /// Sets one byte.
    SetByte { at: usize, byte: u8 },
    /// Cuts the input at `at`.
    Truncate { at: usize },
    /// Removes up to `len` bytes.
    Delete { at: usize, len: usize },
    /// Repeats `len` bytes starting at `at`, `times` times.
    Duplicate { at: usize, len: usize, times: usize },
    /// Inserts `len` bytes of seed `seed` (from `from`) at `at`.
    Splice {
        seed: usize,
        from: usize,
        len: usize,
        at: usize,
    },
    /// Inserts one of the test's tokens.
    Token { at: usize, token: usize },
    /// Inserts `depth` openers then `depth` closers of one kind of nesting.
    Nest {
        at: usize,
        kind: usize,
        depth: usize,
    },
    /// Inserts a huge or odd number.
    Number { at: usize, which: usize },
    /// Inserts bytes that are not UTF-8.
    InvalidUtf8 { at: usize, which: usize },
    /// Inserts a very long line (no newline in it).
    LongLine { at: usize, len: usize },
}

/// Any [`Op`]; nesting goes up to `max_depth` levels.
pub fn op(max_depth: usize) -> impl Strategy<Value = Op> {
    let pos = any::<usize>();
    prop_oneof![
        3 => (pos, 0u8..8).prop_map(|(at, bit)| Op::FlipBit { at, bit }),
        2 => (pos, any::<u8>()).prop_map(|(at, byte)| Op::SetByte { at, byte }),
        2 => pos.prop_map(|at| Op::Truncate { at }),
        2 => (pos, 1usize..64).prop_map(|(at, len)| Op::Delete { at, len }),
        1 => (pos, 1usize..256, 1usize..64)
            .prop_map(|(at, len, times)| Op::Duplicate { at, len, times }),
        3 => (any::<usize>(), pos, 1usize..512, pos)
            .prop_map(|(seed, from, len, at)| Op::Splice { seed, from, len, at }),
        4 => (pos, any::<usize>()).prop_map(|(at, token)| Op::Token { at, token }),
        1 => (pos, any::<usize>(), 1usize..=max_depth.max(1))
            .prop_map(|(at, kind, depth)| Op::Nest { at, kind, depth }),
        2 => (pos, any::<usize>()).prop_map(|(at, which)| Op::Number { at, which }),
        2 => (pos, any::<usize>()).prop_map(|(at, which)| Op::InvalidUtf8 { at, which }),
        1 => (pos, 1usize..65_536).prop_map(|(at, len)| Op::LongLine { at, len }),
    ]
}

/// A seed index and up to `max_ops` edits of it; most cases make one or two edits, so many
/// inputs stay close enough to a valid one to reach the code past the first check.
pub fn case(max_ops: usize, max_depth: usize) -> impl Strategy<Value = (usize, Vec<Op>)> {
    let ops = prop_oneof![
        3 => proptest::collection::vec(op(max_depth), 1..=2),
        1 => proptest::collection::vec(op(max_depth), 0..=max_ops.max(2)),
    ];
    (any::<usize>(), ops)
}

/// `seeds[seed % len]` with `ops` applied (tokens from `tokens`), at most [`MAX_INPUT_BYTES`].
pub fn apply(seeds: &[Vec<u8>], tokens: &[&str], seed: usize, ops: &[Op]) -> Vec<u8> {
    let mut bytes = seeds
        .get(seed % seeds.len().max(1))
        .cloned()
        .unwrap_or_default();
    for op in ops {
        edit(&mut bytes, seeds, tokens, op);
        bytes.truncate(MAX_INPUT_BYTES);
    }
    bytes
}

fn edit(bytes: &mut Vec<u8>, seeds: &[Vec<u8>], tokens: &[&str], op: &Op) {
    let at = |pos: usize, bytes: &Vec<u8>| pos % (bytes.len() + 1);
    match *op {
        Op::FlipBit { at: pos, bit } => {
            if !bytes.is_empty() {
                let i = pos % bytes.len();
                bytes[i] ^= 1 << bit;
            }
        }
        Op::SetByte { at: pos, byte } => {
            if !bytes.is_empty() {
                let i = pos % bytes.len();
                bytes[i] = byte;
            }
        }
        Op::Truncate { at: pos } => {
            let i = at(pos, bytes);
            bytes.truncate(i);
        }
        Op::Delete { at: pos, len } => {
            let i = at(pos, bytes);
            let end = (i + len).min(bytes.len());
            bytes.drain(i..end);
        }
        Op::Duplicate {
            at: pos,
            len,
            times,
        } => {
            let i = at(pos, bytes);
            let end = (i + len).min(bytes.len());
            let chunk = bytes[i..end].repeat(times);
            insert(bytes, end, &chunk);
        }
        Op::Splice {
            seed,
            from,
            len,
            at: pos,
        } => {
            let Some(other) = seeds.get(seed % seeds.len().max(1)) else {
                return;
            };
            let start = from % (other.len() + 1);
            let end = (start + len).min(other.len());
            let chunk = other[start..end].to_vec();
            let i = at(pos, bytes);
            insert(bytes, i, &chunk);
        }
        Op::Token { at: pos, token } => {
            if let Some(text) = tokens.get(token % tokens.len().max(1)) {
                let i = at(pos, bytes);
                insert(bytes, i, text.as_bytes());
            }
        }
        Op::Nest {
            at: pos,
            kind,
            depth,
        } => {
            let (open, close) = NESTING[kind % NESTING.len()];
            let mut chunk = open.repeat(depth);
            chunk.push_str(&close.repeat(depth));
            let i = at(pos, bytes);
            insert(bytes, i, chunk.as_bytes());
        }
        Op::Number { at: pos, which } => {
            let i = at(pos, bytes);
            insert(
                bytes,
                i,
                HUGE_NUMBERS[which % HUGE_NUMBERS.len()].as_bytes(),
            );
        }
        Op::InvalidUtf8 { at: pos, which } => {
            let i = at(pos, bytes);
            insert(bytes, i, INVALID_UTF8[which % INVALID_UTF8.len()]);
        }
        Op::LongLine { at: pos, len } => {
            let i = at(pos, bytes);
            insert(bytes, i, &b"x".repeat(len));
        }
    }
}

fn insert(bytes: &mut Vec<u8>, at: usize, chunk: &[u8]) {
    let at = at.min(bytes.len());
    bytes.splice(at..at, chunk.iter().copied());
}

/// Every file under `dir` (recursively) whose name ends with one of `extensions`, read as
/// bytes, in a fixed order.
pub fn read_corpus(dir: &std::path::Path, extensions: &[&str]) -> Vec<Vec<u8>> {
    let mut paths = Vec::new();
    collect(dir, extensions, &mut paths);
    paths.sort();
    paths
        .iter()
        .filter_map(|path| std::fs::read(path).ok())
        .collect()
}

fn collect(dir: &std::path::Path, extensions: &[&str], into: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, extensions, into);
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|name| extensions.iter().any(|ext| name.ends_with(ext)))
        {
            into.push(path);
        }
    }
}
