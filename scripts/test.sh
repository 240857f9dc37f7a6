#!/usr/bin/env bash
# Every test, in four timed parts:
#   1. Rust: the host workspace (unit, property, golden and the end-to-end binary `e2e`) and the
#      plugin workspace's own unit tests;
#   2. conformance: the real agent CLIs (installed here at pinned versions) against a mock model
#      API (tests/conformance, its own test target, not part of `--all-targets`);
#   3. web: the dashboard in headless Chromium and the MCP tools through the official MCP client
#      (tests/web, pytest), on the engine binary the Rust part built;
#   4. plugins: the example plugins in Rust, Python and JavaScript built by `engine plugin build`
#      (which installs the pinned componentize-py and componentize-js under target/plugin-tools
#      on first use) and run in workflows, and each language's guide followed literally
#      (tests/plugins, its own test target).
# Installs what it needs (the wasm32-wasip2 target, bubblewrap, the pinned agent CLIs, Chromium
# and the tests' Python venv). `scripts/test.sh rust|conformance|web|plugins` runs one part.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
part=${1:-all}
case "$part" in all | rust | conformance | web | plugins) ;; *)
    echo "usage: scripts/test.sh [all|rust|conformance|web|plugins]" >&2
    exit 2
    ;;
esac
rustup target add wasm32-wasip2 >/dev/null
# Every process a run starts is confined with bubblewrap (docs/security.md).
scripts/install-sandbox-tools.sh

# Runs a command and prints its time; returns the command's status. (Called as `timed ... ||`,
# `set -e` does not apply inside: without the explicit status, a failing command would return
# the `echo`'s 0.)
timed() {
    local name=$1 start=$SECONDS status=0
    shift
    "$@" || status=$?
    echo "== $name took $((SECONDS - start)) s"
    return "$status"
}

rust() {
    # --timings: target/cargo-timings/ keeps what each crate cost (docs/testing.md, CI time).
    timed "host workspace build" cargo test --workspace --all-targets --no-run --timings
    # Three test runs at once, printed in this order after all have ended:
    # - the e2e binary, the longest (its tests mostly wait for the processes they start: the
    #   engine, git, bubblewrap), alone;
    # - every other test target of the host workspace (what `--all-targets` runs, named one by
    #   one from `cargo metadata`, so a new target is never left out);
    # - the guest SDK's and built-in stages' own unit tests (pure logic, run on the host), in the
    #   host workspace's target directory: the dependencies both use are built once.
    # cargo holds no lock while tests run, and all three select the same workspace features, so
    # none rebuilds what the build above made. Only the plugins' host build compiles here (about
    # 30 s alone, holding the target directory's lock): a cargo started beside it would wait for
    # it, so the runs start one after the other, longest first, each once the one before has let
    # go of the lock (its cargo prints `Running` when its tests start) or has ended.
    local others
    others=$(other_test_targets)
    local e2e_log others_log plugins_log e2e others_run plugins
    e2e_log=$(mktemp)
    others_log=$(mktemp)
    plugins_log=$(mktemp)
    (timed "e2e" cargo test --workspace --test e2e >"$e2e_log" 2>&1) &
    e2e=$!
    tests_started "$e2e" "$e2e_log"
    # shellcheck disable=SC2086 # $others is a list of arguments
    (timed "host workspace run (all but e2e)" cargo test --workspace --lib --bins --benches \
        $others >"$others_log" 2>&1) &
    others_run=$!
    tests_started "$others_run" "$others_log"
    (timed "plugins (host)" cargo test --manifest-path plugins/Cargo.toml --target-dir target \
        --all-targets >"$plugins_log" 2>&1) &
    plugins=$!
    local status=0
    wait "$e2e" || status=$?
    wait "$others_run" || status=$?
    wait "$plugins" || status=$?
    cat "$others_log" "$e2e_log" "$plugins_log"
    rm -f "$e2e_log" "$others_log" "$plugins_log"
    return "$status"
}

# Returns once the cargo test of process $1, writing to $2, runs its tests or has ended.
tests_started() {
    while kill -0 "$1" 2>/dev/null && ! grep -q "Running" "$2"; do sleep 0.2; done
}

# `--test NAME` for every test target of the host workspace that `cargo test --all-targets` runs
# (test = true), except e2e.
other_test_targets() {
    cargo metadata --no-deps --format-version 1 | python3 -c '
import json, sys
names = sorted({t["name"] for p in json.load(sys.stdin)["packages"] for t in p["targets"]
                if "test" in t["kind"] and t.get("test") and t["name"] != "e2e"})
print(" ".join("--test " + n for n in names))'
}

conformance() {
    # A failed install stops here, loudly: the suite never skips a CLI.
    scripts/install-agent-clis.sh >/dev/null
    # --workspace, not -p engine: the same feature resolution as the Rust part, so nothing it
    # built is compiled again.
    cargo test --workspace --test conformance
}

web() {
    scripts/install-web-test-tools.sh
    # The Rust part built target/debug/engine; alone, this part builds it.
    if [ "$part" = web ]; then cargo build -p engine; fi
    target/web-venv/bin/python -m pytest -q tests/web
}

plugins() {
    # The toolchains are shared between runs on this machine (like the agent CLIs).
    ENGINE_TOOLS_DIR="$root/target/plugin-tools" cargo test --workspace --test plugins
}

case "$part" in all | rust) timed "rust tests" rust ;; esac
case "$part" in all | conformance) timed "conformance (real agent CLIs)" conformance ;; esac
case "$part" in all | web) timed "web (browser and MCP client)" web ;; esac
case "$part" in all | plugins) timed "plugins (examples and guides)" plugins ;; esac
