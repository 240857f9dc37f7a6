#!/usr/bin/env bash
# Orchestration overhead per task, side by side with the bare-git floor. TASKS (20) trivial tasks
# of a spec-runner tasks.md, each run through builtin:agent (engine's scripted stand-in for Claude
# Code, which writes one file, inside the agent sandbox) and builtin:merge (squash into main),
# statuses written back. The agent's own time is subtracted (a wrapper times every agent
# process), so what is left is the engine's: start, state, worktree, commits, merge, write-back.
#
# Modes (arguments; default all of them, about 1-2 minutes at the default sizes):
#   floor     bare git on the same repository shape, per task: `git worktree add -b`, the
#             agent's file, `git add -A`, `git commit`, squash merge into main (`merge-tree
#             --write-tree`, `commit-tree`, compare-and-swap `update-ref`), `git worktree remove`
#   all       `engine run --all` (one engine process for the tasks)
#   parallel  `engine run --all --parallel 4` (wall time / tasks: agent time overlaps)
#   each      TASKS separate `engine run` (each picks the next ready task)
#   tasks     `engine tasks` (process start, workflow and source load, listing)
#   spawns    process spawns (and the engine's fsync/fdatasync calls) per task of one
#             `engine run --all` of SPAWN_TASKS (5) tasks under
#             strace (a separate run: strace slows everything down), by program
#   start     start to first agent launch: from just before `engine run` is exec'd to the
#             agent wrapper's first command, median of START_RUNS (5)
#   rss       peak RSS of the engine process over one `engine run --all` of TASKS tasks
# floor, all, parallel and each run ROUNDS (3) times interleaved; medians are printed.
#
# Repository shape (every mode, the floor too):
#   FILES=N     N more files in nested directories (src/A/B/fN.txt), e.g. FILES=10000
#   POOL=N      the workflow's git.worktree_pool (default 2; 0: a new worktree per run)
#   HISTORY=N   N tasks run before the measured ones (`engine run --all`; the floor runs N of its
#               own), for the growth curve, e.g. HISTORY=1000 (takes a while)
#
#   scripts/bench-tasks.sh                      # release build (cargo build --release -p engine)
#   ENGINE=target/release/engine scripts/bench-tasks.sh all floor
#   FILES=10000 scripts/bench-tasks.sh floor all
#   HISTORY=1000 ROUNDS=1 scripts/bench-tasks.sh floor all tasks
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tasks=${TASKS:-20}
rounds=${ROUNDS:-3}
files=${FILES:-0}
history=${HISTORY:-0}
spawn_tasks=${SPAWN_TASKS:-5}
start_runs=${START_RUNS:-5}
modes=${*:-floor all parallel each tasks spawns start rss}
if [ -z "${ENGINE:-}" ]; then
  (cd "$root" && cargo build -p engine --release --quiet)
  ENGINE="$root/target/release/engine"
fi
engine=$(cd "$(dirname "$ENGINE")" && pwd)/$(basename "$ENGINE")
export ENGINE_CACHE_DIR="${ENGINE_CACHE_DIR:-${TMPDIR:-/tmp}/engine-bench-cache}"
work=$(mktemp -d "${TMPDIR:-/tmp}/engine-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
meter=$work/meter # what the agent wrapper records (inside the sandbox: a writable path)
mkdir -p "$meter" "$work/agent-state"

has_mode() { case " $modes " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
now_us() { echo "${EPOCHREALTIME/./}"; }
log() { echo "bench: $*" >&2; }

# The agent: writes a file of its own (so every run has a change to commit and merge).
cat > "$work/agent.yaml" <<'EOF'
- - say: "Doing the task."
  - run: "mktemp ./done-XXXXXXXX > /dev/null"
  - result: {text: "Done."}
EOF
# Records when every agent process starts (ns) and how long it takes, around the scripted agent.
cat > "$work/agent.sh" <<EOF
#!/bin/sh
start=\$(date +%s%N)
echo "\$start" >> "$meter/agent-start"
"$engine" scripted-agent --script "$work/agent.yaml" --state "$work/agent-state" --as claude "\$@"
rc=\$?
echo \$(( \$(date +%s%N) - start )) >> "$meter/agent-ns"
exit \$rc
EOF
chmod +x "$work/agent.sh"

# The shape every repository starts from: workflow, an empty tasks.md, FILES files; the user's
# checkout on a side branch. Copied, never changed.
make_base() {
  local repo=$work/base i
  mkdir -p "$repo/spec"
  echo "# Tasks" > "$repo/spec/tasks.md"
  cat > "$repo/workflow.yaml" <<EOF
name: bench
git: { worktree_pool: ${POOL:-2} }
tasks: { source: tasks-md, path: spec/tasks.md, permissions: { workspace: write } }
agents:
  backends:
    claude: { command: [$work/agent.sh], write: [$work/agent-state, $meter] }
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
  for ((i = 0; i < files; i++)); do
    if ((i % 100 == 0)); then mkdir -p "$repo/src/$((i / 1000))/$((i / 100 % 10))"; fi
    echo "file $i" > "$repo/src/$((i / 1000))/$((i / 100 % 10))/f$i.txt"
  done
  (cd "$repo" && git init -q -b main && git add . \
    && git -c user.name=bench -c user.email=bench@example.com -c gc.auto=0 commit -q -m base \
    && git checkout -q -b wip)
}

# Appends tasks FROM..TO to a repository's tasks.md (in the user's checkout, as a user would).
add_tasks() {
  local repo=$1 from=$2 to=$3 i
  for ((i = from; i <= to; i++)); do
    printf '\n### TASK-%d: Trivial task %d\nP1 | TODO\n' "$i" "$i"
  done >> "$repo/spec/tasks.md"
}

# A fresh copy of template $1 at path $2 (always the same path: git and engine state hold it).
fresh() { rm -rf "$2" "$2.wt"; cp -a "$1" "$2"; rm -f "$meter"/agent-*; }

check_engine() {
  local repo=$1 want=$2 done_count merged
  done_count=$(grep -c '| DONE' "$repo/spec/tasks.md" || true)
  merged=$(git -C "$repo" log main --oneline --grep='Engine-Run:' | wc -l)
  if [ "$done_count" != "$want" ] || [ "$merged" != "$want" ]; then
    log "expected $want tasks done and merged in $repo, got $done_count done, $merged merged"
    exit 1
  fi
}

agent_ms() { awk '{ s += $1 } END { printf "%.0f", s / 1e6 }' "$meter/agent-ns"; }

# The floor: what the engine does per task, as bare git commands (tasks FROM..TO).
floor_tasks() {
  local repo=$1 from=$2 to=$3 i wt tree commit
  for ((i = from; i <= to; i++)); do
    wt=$repo.wt/task-$i
    git -C "$repo" worktree add -q -b "floor/task-$i" "$wt" main
    : > "$wt/done-$i" # the agent's file (the agent's time is not the floor's)
    git -C "$wt" add -A
    git -C "$wt" -c user.name=bench -c user.email=bench@example.com commit -q -m "Task $i"
    tree=$(git -C "$repo" merge-tree --write-tree main "floor/task-$i")
    commit=$(git -C "$repo" -c user.name=bench -c user.email=bench@example.com \
      commit-tree "$tree" -p main -m "Task $i")
    git -C "$repo" update-ref refs/heads/main "$commit" "$commit^"
    git -C "$repo" worktree remove "$wt"
  done
}

log "engine: $engine"
log "tasks: $tasks, rounds: $rounds, files: $files, history: $history; modes: $modes"
make_base

# Warm the compiled-component cache (a first run compiles the built-in stages).
cp -a "$work/base" "$work/warm" && add_tasks "$work/warm" 1 1
(cd "$work/warm" && "$engine" run workflow.yaml > /dev/null 2>&1) || { log "warm-up run failed"; exit 1; }
rm -rf "$work/warm"

# Templates with HISTORY earlier tasks done, and TASKS ready ones.
repo=$work/repo
cp -a "$work/base" "$repo"
if ((history > 0)); then
  log "engine: running $history earlier tasks"
  add_tasks "$repo" 1 "$history"
  (cd "$repo" && "$engine" run workflow.yaml --all > /dev/null 2>&1)
  check_engine "$repo" "$history"
fi
add_tasks "$repo" $((history + 1)) $((history + tasks))
mv "$repo" "$work/engine.tmpl"
floor=$work/floor
if has_mode floor; then
  cp -a "$work/base" "$floor"
  ((history == 0)) || { log "floor: running $history earlier tasks"; floor_tasks "$floor" 1 "$history"; }
  mv "$floor" "$work/floor.tmpl"
fi

declare -A per_task
record() { per_task[$1]="${per_task[$1]:-} $2" timed_modes=1; }
per_task_ms() { awk -v us="$1" -v k="$2" 'BEGIN { printf "%.1f", us / 1000 / k }'; }

timed_modes=""
for ((r = 1; r <= rounds; r++)); do
  has_mode floor || has_mode all || has_mode parallel || has_mode each || break
  if has_mode floor; then
    fresh "$work/floor.tmpl" "$floor"
    t0=$(now_us)
    floor_tasks "$floor" $((history + 1)) $((history + tasks))
    t1=$(now_us)
    n=$(git -C "$floor" rev-list --count main)
    [ "$n" = $((1 + history + tasks)) ] || { log "floor: expected $((1 + history + tasks)) commits on main, got $n"; exit 1; }
    record floor "$(per_task_ms $((t1 - t0)) "$tasks")"
  fi
  if has_mode all; then
    fresh "$work/engine.tmpl" "$repo"
    t0=$(now_us)
    (cd "$repo" && "$engine" run workflow.yaml --all > /dev/null 2>&1)
    t1=$(now_us)
    check_engine "$repo" $((history + tasks))
    record all "$(per_task_ms $((t1 - t0 - $(agent_ms) * 1000)) "$tasks")"
  fi
  if has_mode parallel; then
    fresh "$work/engine.tmpl" "$repo"
    t0=$(now_us)
    (cd "$repo" && "$engine" run workflow.yaml --all --parallel 4 > /dev/null 2>&1)
    t1=$(now_us)
    check_engine "$repo" $((history + tasks))
    record parallel "$(per_task_ms $((t1 - t0)) "$tasks")"
  fi
  if has_mode each; then
    fresh "$work/engine.tmpl" "$repo"
    t0=$(now_us)
    for ((i = 0; i < tasks; i++)); do
      (cd "$repo" && "$engine" run workflow.yaml > /dev/null 2>&1)
    done
    t1=$(now_us)
    check_engine "$repo" $((history + tasks))
    record each "$(per_task_ms $((t1 - t0 - $(agent_ms) * 1000)) "$tasks")"
  fi
  log "round $r: floor${per_task[floor]:-} | all${per_task[all]:-} | parallel${per_task[parallel]:-} | each${per_task[each]:-}"
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END {
  if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
row() { printf '%-46s %9s  %s\n' "$1" "$2" "$3"; }

[ -z "$timed_modes" ] \
  || echo "per-task orchestration overhead, ms (median of $rounds; agent time subtracted)   tasks=$tasks files=$files history=$history"
for m in floor all parallel each; do
  [ -n "${per_task[$m]:-}" ] || continue
  med=$(echo "${per_task[$m]}" | median)
  printf -v "med_$m" '%s' "$med"
  case $m in
    floor) name="bare-git floor" ;;
    all) name="engine run --all" ;;
    parallel) name="engine run --all --parallel 4 (wall/tasks)" ;;
    each) name="$tasks x engine run" ;;
  esac
  row "$name" "$med" "[${per_task[$m]# }]"
done
if [ -n "${med_floor:-}" ]; then
  for m in all parallel each; do
    v=med_$m
    [ -n "${!v:-}" ] || continue
    row "  ratio ${m} / floor" "$(awk -v a="${!v}" -v b="$med_floor" 'BEGIN { printf "%.2fx", a / b }')" ""
  done
fi

if has_mode tasks; then
  fresh "$work/engine.tmpl" "$repo"
  t0=$(now_us)
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    (cd "$repo" && "$engine" tasks workflow.yaml > /dev/null 2>&1)
  done
  t1=$(now_us)
  row "engine tasks (start, load, listing), ms" "$(per_task_ms $((t1 - t0)) 10)" "(mean of 10)"
fi

if has_mode start; then
  starts=""
  for ((r = 0; r < start_runs; r++)); do
    fresh "$work/engine.tmpl" "$repo"
    t0=$(now_us)
    (cd "$repo" && exec "$engine" run workflow.yaml > /dev/null 2>&1)
    read -r first < "$meter/agent-start"
    starts="$starts $(awk -v a="$first" -v t="$t0" 'BEGIN { printf "%.1f", (a / 1000 - t) / 1000 }')"
  done
  row "start to first agent launch, ms" "$(echo "$starts" | median)" "[${starts# }] (incl. the wrapper's sh + date)"
fi

if has_mode rss; then
  fresh "$work/engine.tmpl" "$repo"
  hwm=0 engine_pid="" timed=""
  if [ -x /usr/bin/time ]; then
    (cd "$repo" && exec /usr/bin/time -f %M -o "$work/time-rss" "$engine" run workflow.yaml --all > /dev/null 2>&1) &
    timed=$!
  else
    (cd "$repo" && exec "$engine" run workflow.yaml --all > /dev/null 2>&1) &
    engine_pid=$!
  fi
  # VmHWM of the engine process itself (its children are not in it), polled until it exits.
  while :; do
    if [ -z "$engine_pid" ]; then
      # (no newline at the end of that file: read fails but sets the variable)
      read -r engine_pid _ 2> /dev/null < "/proc/$timed/task/$timed/children" || true
      [ -n "$engine_pid" ] || { [ -e "/proc/$timed/status" ] && { sleep 0.005; continue; }; break; }
    fi
    [ -r "/proc/$engine_pid/status" ] || break
    while read -r key value _; do
      if [ "$key" = VmHWM: ] && ((value > hwm)); then hwm=$value; fi
    done 2> /dev/null < "/proc/$engine_pid/status" || true
    grep -q '^State:.*zombie' "/proc/$engine_pid/status" 2>/dev/null && break
    sleep 0.02
  done
  wait "${timed:-$engine_pid}"
  check_engine "$repo" $((history + tasks))
  row "peak RSS of the engine process (VmHWM), MiB" "$(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }')" "(run --all of $tasks tasks)"
  if [ -n "$timed" ]; then
    row "  /usr/bin/time max RSS, MiB" "$(awk -v k="$(tail -1 "$work/time-rss")" 'BEGIN { printf "%.1f", k / 1024 }')" "(the engine or its largest child)"
  fi
fi

if has_mode spawns; then
  if ! command -v strace > /dev/null || ! command -v python3 > /dev/null; then
    echo "spawns: skipped (needs strace and python3)"
  else
    rm -rf "$repo"
    cp -a "$work/base" "$repo"
    add_tasks "$repo" 1 "$spawn_tasks"
    mkdir -p "$work/strace"
    (cd "$repo" && strace -ff -qq --decode-pids=pidns -e trace=execve,clone,clone3,vfork,fork,fsync,fdatasync \
      -e signal=none -o "$work/strace/trace" "$engine" run workflow.yaml --all > /dev/null 2>&1)
    check_engine "$repo" "$spawn_tasks"
    echo "process spawns (strace, run --all of $spawn_tasks tasks, history 0):"
    python3 "$root/scripts/bench/spawns.py" "$work/strace/trace" "$spawn_tasks" "$engine" agent.sh | sed 's/^/  /'
  fi
fi
