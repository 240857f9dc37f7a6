#!/usr/bin/env bash
# Orchestration overhead per task: 20 trivial tasks in a spec-runner tasks.md, each run through
# builtin:agent (engine's scripted stand-in for Claude Code, which writes one file) and
# builtin:merge (squash into main), with statuses written back. Measures
#
#   all       `engine run --all` (one engine process for the 20 tasks)
#   parallel  `engine run --all --parallel 4`
#   each      20 separate `engine run` (each picks the next ready task: engine start,
#             workflow load, task listing, claim, run, write-back, exit)
#   start     `engine tasks` on the workflow (engine start + workflow + source load + listing)
#
# and subtracts the agent's own time (every scripted-agent process is timed by a wrapper), so
# what is left is engine's: start, state, worktree, commit, merge, write-back. Prints ms.
#
#   scripts/bench-tasks.sh            # release build (cargo build --release -p engine)
#   ENGINE=target/debug/engine scripts/bench-tasks.sh
#   TASKS=50 scripts/bench-tasks.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tasks=${TASKS:-20}
if [ -z "${ENGINE:-}" ]; then
  (cd "$root" && cargo build -p engine --release --quiet)
  ENGINE="$root/target/release/engine"
fi
engine=$(cd "$(dirname "$ENGINE")" && pwd)/$(basename "$ENGINE")
export ENGINE_CACHE_DIR="${ENGINE_CACHE_DIR:-${TMPDIR:-/tmp}/engine-bench-cache}"
work=$(mktemp -d "${TMPDIR:-/tmp}/engine-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

now_ns() { date +%s%N; }

# The agent: writes a file of its own (so every run has a change to commit and merge).
cat > "$work/agent.yaml" <<'EOF'
- - say: "Doing the task."
  - run: "mktemp ./done-XXXXXXXX > /dev/null"
  - result: {text: "Done."}
EOF
# Times every agent process (ns, one line each) around the real scripted agent.
cat > "$work/agent.sh" <<EOF
#!/bin/sh
start=\$(date +%s%N)
"$engine" scripted-agent --script "$work/agent.yaml" --state "$work/agent-state" --as claude "\$@"
rc=\$?
echo \$(( \$(date +%s%N) - start )) >> "$work/agent-ns"
exit \$rc
EOF
chmod +x "$work/agent.sh"

# A fresh repository with $tasks independent tasks (the user's checkout on a side branch).
setup() {
  local repo=$1
  rm -rf "$repo"
  mkdir -p "$repo/spec"
  {
    echo "# Tasks"
    for i in $(seq 1 "$tasks"); do
      printf '\n### TASK-%d: Trivial task %d\nP1 | TODO\n' "$i" "$i"
    done
  } > "$repo/spec/tasks.md"
  cat > "$repo/workflow.yaml" <<EOF
name: bench
tasks: { source: tasks-md, path: spec/tasks.md, permissions: { workspace: write } }
agents:
  backends:
    claude: { command: [$work/agent.sh] }
stages:
  execute:
    uses: builtin:agent
    with: { backend: claude, prompt: "{{ task.title }}" }
    permissions: { workspace: write, agent: true }
  merge:
    uses: builtin:merge
    needs: [execute]
    permissions: { workspace: read, exec: [git] }
EOF
  (cd "$repo" && git init -q -b main \
    && git add . && git -c user.name=bench -c user.email=bench@example.com commit -q -m tasks \
    && git checkout -q -b wip)
  rm -f "$work/agent-ns"
}

agent_ms() { awk '{ s += $1 } END { printf "%.0f", s / 1e6 }' "$work/agent-ns"; }

# Warm the compiled-component cache (a first run compiles the built-in stages).
setup "$work/warm"
(cd "$work/warm" && "$engine" run workflow.yaml > /dev/null 2>&1)

report() {
  local name=$1 total_ms=$2 agent=$3
  local engine_ms=$(( total_ms - agent ))
  awk -v n="$name" -v t="$total_ms" -v a="$agent" -v e="$engine_ms" -v k="$tasks" 'BEGIN {
    printf "%-9s total %6d ms  agent %6d ms  engine %6d ms  = %6.1f ms per task\n", n, t, a, e, e / k }'
}

check() {
  local repo=$1
  local done_count
  done_count=$(grep -c '| DONE' "$repo/spec/tasks.md" || true)
  local merged
  merged=$(cd "$repo" && git log main --oneline --grep='Engine-Run:' | wc -l)
  if [ "$done_count" != "$tasks" ] || [ "$merged" != "$tasks" ]; then
    echo "bench: expected $tasks tasks done and merged, got $done_count done, $merged merged" >&2
    exit 1
  fi
}

echo "engine: $engine" >&2
echo "tasks: $tasks (builtin:agent with the scripted agent + builtin:merge, write-back on)" >&2

setup "$work/all"
t0=$(now_ns)
(cd "$work/all" && "$engine" run workflow.yaml --all > /dev/null 2>&1)
t1=$(now_ns)
check "$work/all"
report all $(( (t1 - t0) / 1000000 )) "$(agent_ms)"

setup "$work/par"
t0=$(now_ns)
(cd "$work/par" && "$engine" run workflow.yaml --all --parallel 4 > /dev/null 2>&1)
t1=$(now_ns)
check "$work/par"
# Agent time overlaps with other runs here: only wall time per task is meaningful.
awk -v t=$(( (t1 - t0) / 1000000 )) -v k="$tasks" 'BEGIN {
  printf "%-9s total %6d ms (wall, 4 at a time)                  = %6.1f ms per task\n", "parallel", t, t / k }'

setup "$work/each"
t0=$(now_ns)
for _ in $(seq 1 "$tasks"); do
  (cd "$work/each" && "$engine" run workflow.yaml > /dev/null 2>&1)
done
t1=$(now_ns)
check "$work/each"
report each $(( (t1 - t0) / 1000000 )) "$(agent_ms)"

t0=$(now_ns)
for _ in $(seq 1 10); do
  (cd "$work/each" && "$engine" tasks workflow.yaml > /dev/null 2>&1)
done
t1=$(now_ns)
awk -v t=$(( (t1 - t0) / 1000000 )) 'BEGIN {
  printf "%-9s %6.1f ms per `engine tasks` (process start, workflow and source load, listing)\n", "start", t / 10 }'
