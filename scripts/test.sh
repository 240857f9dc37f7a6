#!/usr/bin/env bash
# Every test: the host workspace (unit, property, golden and end-to-end tests) and the plugin
# workspace's own unit tests. Installs what it needs (the wasm32-wasip2 target, the pinned agent
# CLIs of the conformance suite).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
rustup target add wasm32-wasip2 >/dev/null
# Every process a run starts is confined with bubblewrap (docs/security.md).
scripts/install-sandbox-tools.sh
# The conformance suite (tests/conformance) runs the real agent CLIs at pinned versions: install
# them first so a failed install stops here, loudly, before anything else runs.
scripts/install-agent-clis.sh >/dev/null
cargo test --workspace --all-targets
# The guest SDK's and built-in stages' own unit tests (pure logic, run on the host).
cargo test --manifest-path plugins/Cargo.toml --target-dir target/plugins-host
