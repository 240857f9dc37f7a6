#!/usr/bin/env bash
# Every test: the host workspace (unit, property, golden and end-to-end tests) and the plugin
# workspace's own unit tests. Installs what it needs (the wasm32-wasip2 target).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
rustup target add wasm32-wasip2 >/dev/null
cargo test --workspace --all-targets
# The guest SDK's and built-in stages' own unit tests (pure logic, run on the host).
cargo test --manifest-path plugins/Cargo.toml --target-dir target/plugins-host
