#!/usr/bin/env bash
# Build caches kept across runs (the workflow's `caches:`): the gate time of `cargo test` on a
# small real Rust crate (a library with tests using serde, serde_json and regex, taken from
# ~/.cargo/registry with --offline: no network), one workflow stage `test: builtin:gate` as in
# the default workflow, run after run in one repository:
#
#   cold-1, cold-2   two runs without a cache: each fresh worktree builds everything
#   fill             the first run with `caches: { cargo-target: { env: CARGO_TARGET_DIR } }`
#   warm             the next run with the cache: nothing changed
#   warm-edit        a run after a commit changed one line of the crate: incremental
#
# Prints the gate attempt's time (from `engine show --json`) and the whole `engine run`, in s.
#
#   scripts/bench-caches.sh            # release build (cargo build --release -p engine)
#   ENGINE=target/debug/engine scripts/bench-caches.sh
#
# Needs the crates above in ~/.cargo/registry (any build of this repository puts them there).
# Not vendored into the repository on purpose: cargo keys a dependency's build by the path of
# its source, and a vendor/ directory is at a new path in every run's worktree, so those would
# be rebuilt each run even with the cache (registry sources have one path for every run).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${ENGINE:-}" ]; then
  (cd "$root" && cargo build -p engine --release --quiet)
  ENGINE="$root/target/release/engine"
fi
engine=$(cd "$(dirname "$ENGINE")" && pwd)/$(basename "$ENGINE")
work=$(mktemp -d "${TMPDIR:-/tmp}/engine-bench-caches.XXXXXX")
trap 'rm -rf "$work"' EXIT
repo="$work/calc"

# The crate: a small expression tokenizer and a JSON round trip, with tests.
cargo new --lib --vcs none --quiet "$repo"
cat >> "$repo/Cargo.toml" <<'EOF'
serde = { version = "1", features = ["derive"] }
serde_json = "1"
regex = "1"
EOF
cat > "$repo/src/lib.rs" <<'EOF'
//! A tiny calculator: tokens by regex, values as JSON.
use regex::Regex;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Token { Num(f64), Op(char) }

pub fn tokens(text: &str) -> Vec<Token> {
    let re = Regex::new(r"\s*(?:(\d+(?:\.\d+)?)|([-+*/]))").unwrap();
    re.captures_iter(text)
        .map(|c| match (c.get(1), c.get(2)) {
            (Some(n), _) => Token::Num(n.as_str().parse().unwrap()),
            (_, Some(op)) => Token::Op(op.as_str().chars().next().unwrap()),
            _ => unreachable!(),
        })
        .collect()
}

pub fn eval(text: &str) -> f64 {
    let mut total = 0.0;
    let mut op = '+';
    for token in tokens(text) {
        match token {
            Token::Op(o) => op = o,
            Token::Num(n) => match op {
                '+' => total += n,
                '-' => total -= n,
                '*' => total *= n,
                _ => total /= n,
            },
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn evaluates_left_to_right() { assert_eq!(eval("1 + 2 * 3"), 9.0); }
    #[test]
    fn tokens_round_trip_through_json() {
        let t = tokens("4 / 2");
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<Vec<Token>>(&json).unwrap(), t);
    }
}
EOF
(
  cd "$repo"
  cargo generate-lockfile --offline --quiet
  printf 'target/\n' > .gitignore
  git init --quiet -b main
  git add -A
  git -c user.name=bench -c user.email=bench@example.invalid commit --quiet -m "calc"
)

workflow() {
  {
    echo "name: bench-caches"
    if [ "$1" = cached ]; then
      echo "caches:"
      echo "  cargo-target: { env: CARGO_TARGET_DIR }"
    fi
    cat <<'EOF'
stages:
  test:
    uses: builtin:gate
    with: { commands: ["cargo test --offline"] }
    permissions: { workspace: read, exec: [cargo] }
    retry: { max_attempts: 1 }
EOF
  } > "$work/$1.yaml"
}
workflow plain
workflow cached

run() {
  local label=$1 yaml=$2 start end id
  start=$(date +%s%N)
  id=$(cd "$repo" && "$engine" run "$work/$yaml.yaml" --task "bench $label" 2>"$work/$label.log") || {
    cat "$work/$label.log" >&2
    exit 1
  }
  end=$(date +%s%N)
  (cd "$repo" && "$engine" show "$id" --json) | python3 -c '
import json, sys
label, total_ns = sys.argv[1], int(sys.argv[2])
doc = json.load(sys.stdin)
attempt = doc["state"]["stages"]["test"]["history"][-1]
gate = (attempt["ended_at_ms"] - attempt["started_at_ms"]) / 1000
print(f"{label:<10} gate {gate:7.2f} s   run {total_ns / 1e9:7.2f} s")
' "$label" "$((end - start))"
}

run cold-1 plain
run cold-2 plain
run fill cached
run warm cached
(
  cd "$repo"
  sed -i 's/let mut op = .+.;/let mut op = '"'"'+'"'"'; \/\/ edited/' src/lib.rs
  git -c user.name=bench -c user.email=bench@example.invalid commit --quiet -am "edit"
)
run warm-edit cached
