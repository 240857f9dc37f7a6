#!/usr/bin/env bash
# The demo: builds engine, copies examples/hello-repo to a scratch git repository and runs its
# workflow there, then shows the run. Needs only this repository and a Rust toolchain (rustup
# installs the pinned toolchain and the wasm32-wasip2 target from rust-toolchain.toml).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
rustup show active-toolchain >/dev/null 2>&1 || true
rustup target add wasm32-wasip2 >/dev/null
echo "== building engine (first build takes a few minutes)" >&2
cargo build -p engine --release --quiet
engine="$root/target/release/engine"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/engine-demo.XXXXXX")
cp -R examples/hello-repo/. "$scratch/"
cd "$scratch"
git init -q -b main
git add .
git -c user.name=demo -c user.email=demo@example.com commit -q -m "hello-repo"
echo "== scratch repository: $scratch" >&2

"$engine" validate workflow.yaml
run_id=$("$engine" run workflow.yaml --task "Check the greeting script")
echo "== engine show $run_id" >&2
"$engine" show "$run_id"
