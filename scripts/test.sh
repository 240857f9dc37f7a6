#!/usr/bin/env bash
# Every test, in two timed parts:
#   1. Rust: the host workspace (unit, property, golden and the end-to-end binary `e2e`) and the
#      plugin workspace's own unit tests;
#   2. conformance: the real agent CLIs (installed here at pinned versions) against a mock model
#      API (tests/conformance, its own test target, not part of `--all-targets`).
# Installs what it needs (the wasm32-wasip2 target, bubblewrap, the pinned agent CLIs).
# `scripts/test.sh rust` or `scripts/test.sh conformance` runs one part.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
part=${1:-all}
case "$part" in all | rust | conformance) ;; *)
    echo "usage: scripts/test.sh [all|rust|conformance]" >&2
    exit 2
    ;;
esac
rustup target add wasm32-wasip2 >/dev/null
# Every process a run starts is confined with bubblewrap (docs/security.md).
scripts/install-sandbox-tools.sh

timed() {
    local name=$1 start=$SECONDS
    shift
    "$@"
    echo "== $name took $((SECONDS - start)) s"
}

# The host workspace's test targets other than the e2e binary (and the conformance suite, which
# is not part of --all-targets), as `--test NAME` arguments.
other_test_targets() {
    cargo metadata --no-deps --format-version 1 | python3 -c '
import json, sys
names = sorted({t["name"] for p in json.load(sys.stdin)["packages"] for t in p["targets"]
                if "test" in t["kind"] and t["name"] not in ("e2e", "conformance")})
print(" ".join("--test " + n for n in names))'
}

rust() {
    timed "host workspace build" cargo test --workspace --all-targets --no-run
    # Once built, three groups run at once: the e2e binary (it mostly waits for the engine
    # processes its tests start), the host workspace's other targets, and the guest SDK's and
    # built-in stages' own unit tests (pure logic, run on the host; they build in the host
    # workspace's target directory, so the dependencies both use are built once). Cargo holds no
    # lock while tests run, and the same target selection as --all-targets (with --workspace)
    # resolves the same features, so nothing is built twice. The other two groups' output is
    # printed after the e2e binary's.
    local logs others plugins status=0
    logs=$(mktemp -d)
    # shellcheck disable=SC2046 # one word per argument
    (timed "host workspace, other targets" cargo test --workspace --lib --bins --examples \
        --benches $(other_test_targets) >"$logs/others" 2>&1) &
    others=$!
    (timed "plugins (host)" cargo test --manifest-path plugins/Cargo.toml --target-dir target \
        --all-targets >"$logs/plugins" 2>&1) &
    plugins=$!
    timed "host workspace, e2e" cargo test --workspace --test e2e || status=$?
    wait "$others" || status=$?
    wait "$plugins" || status=$?
    cat "$logs/others" "$logs/plugins"
    rm -rf "$logs"
    return "$status"
}

conformance() {
    # A failed install stops here, loudly: the suite never skips a CLI.
    scripts/install-agent-clis.sh >/dev/null
    # --workspace, not -p engine: the same feature resolution as the Rust part, so nothing it
    # built is compiled again.
    cargo test --workspace --test conformance
}

if [ "$part" != conformance ]; then timed "rust tests" rust; fi
if [ "$part" != rust ]; then timed "conformance (real agent CLIs)" conformance; fi
