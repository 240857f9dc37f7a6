#!/usr/bin/env bash
# The demo: builds engine, copies examples/demo-repo to a scratch git repository and runs the
# whole default pipeline there (workflows/demo.yaml: triage -> execute -> review -> test ->
# merge, a webhook notifier in `finally:`) with engine's scripted stand-in for the agent CLI.
# No API key, no network: the notifier posts to a receiver on 127.0.0.1 that this script
# starts. Needs only this repository and a Rust toolchain (rustup installs the pinned toolchain
# and the wasm32-wasip2 target from rust-toolchain.toml).
#
# `scripts/demo.sh serve [PORT]` sets up the same scratch repository and runs `engine serve`
# there instead (default port 7878): open the printed address, press Run on GREET-1, and watch
# the run live in the dashboard from triage to the merge (the card moves to Done).
set -euo pipefail
mode=${1:-run}
case "$mode" in run | serve) ;; *)
    echo "usage: scripts/demo.sh [run|serve [PORT]]" >&2
    exit 2
    ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
rustup show active-toolchain >/dev/null 2>&1 || true
rustup target add wasm32-wasip2 >/dev/null
# The run confines every process it starts with bubblewrap (docs/security.md).
scripts/install-sandbox-tools.sh
echo "== building engine (the first build takes a few minutes)" >&2
cargo build -p engine --release --quiet
# The workflow runs `engine scripted-agent` as its agent CLI: put this engine first on PATH.
export PATH="$root/target/release:$PATH"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/engine-demo.XXXXXX")
cp -R examples/demo-repo/. "$scratch/"
cd "$scratch"
git init -q -b main
git add .
git -c user.name=demo -c user.email=demo@example.com commit -q -m "demo-repo"
echo "== scratch repository: $scratch" >&2

# A webhook receiver on loopback for the notifier; its first line is its URL.
deliveries="$scratch/.git/deliveries.jsonl"
count=(--count 1)
[ "$mode" = serve ] && count=()
engine hook-receiver "${count[@]}" --out "$deliveries" > "$scratch/.git/receiver.url" &
receiver=$!
trap 'kill $receiver 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  [ -s "$scratch/.git/receiver.url" ] && break
  sleep 0.1
done
export DEMO_WEBHOOK_URL=$(head -n 1 "$scratch/.git/receiver.url")

if [ "$mode" = serve ]; then
  port=${2:-7878}
  echo "== engine serve workflows/demo.yaml: open http://127.0.0.1:$port and press Run on GREET-1 (Ctrl-C stops)" >&2
  status=0
  engine serve "$root/workflows/demo.yaml" --listen "127.0.0.1:$port" || status=$?
  echo "== look around: cd $scratch && engine runs" >&2
  exit "$status"
fi

task="Add a --shout flag to greet.sh that prints the greeting in capitals"
echo "== engine run workflows/demo.yaml --task \"$task\"" >&2
status=0
run_id=$(engine run "$root/workflows/demo.yaml" --task "$task") || status=$?

echo >&2
echo "== the notifier's delivery (received on $DEMO_WEBHOOK_URL)" >&2
cat "$deliveries" 2>/dev/null || echo "(nothing was delivered)" >&2
echo >&2
echo "== main after the merge" >&2
git log --oneline -n 3 main >&2
echo "\$ sh greet.sh --name Ada --shout" >&2
sh greet.sh --name Ada --shout >&2
echo >&2
echo "== look around: cd $scratch && engine show $run_id" >&2
exit "$status"
