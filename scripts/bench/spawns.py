#!/usr/bin/env python3
"""Process spawns of one traced `engine run`, attributed to the process that made them.

Reads the per-process files of `strace -ff -qq --decode-pids=pidns
-e trace=execve,clone,clone3,vfork,fork -o PREFIX`
(PREFIX.<pid>, one per process or thread, so no interleaved "<unfinished ...>" lines) and prints,
per task:

  - the engine's own spawns: processes whose parent is an engine process, by program (`git
    <subcommand>`, `bwrap -> <what runs inside>`, the agent, ...), and how many of them were full
    fork()s of the engine (clone without CLONE_VM: the whole address space is copied) rather
    than vfork/posix_spawn;
  - separately, what ran inside bwrap, inside the agent, and git's own children (`git
    maintenance`, hooks, ...): these are not the engine's spawns.

With fsync and fdatasync traced too (`-e trace=...,fsync,fdatasync`), it also prints how many
of those the engine's own threads made per task (git's, the agent's and the sources' are not
counted: they are not the engine's).

Only successful execve (`= 0`) count: a PATH search leaves failed ones (`= -1 ENOENT`) behind.
A process that execs the engine binary again (not as the agent) is an engine process too.

usage: spawns.py PREFIX TASKS ENGINE_BINARY AGENT_BASENAME
"""

import collections
import glob
import re
import sys

EXEC_RE = re.compile(r'^execve\("((?:[^"\\]|\\.)*)", \[(.*?)\]')
# With --decode-pids=pidns a clone inside a pid namespace (bwrap) reads
# `= 2 /* 18704 in strace's PID NS */`: the second number names the trace file.
SYNC_RE = re.compile(r"^(fsync|fdatasync)\(")
CLONE_RE = re.compile(r"^(clone3?|vfork|fork)\((.*)\)\s+=\s+(\d+)(?: /\* (\d+) in strace's PID NS \*/)?$")
ARG_RE = re.compile(r'"((?:[^"\\]|\\.)*)"')
# git options that take a separate value before the subcommand.
GIT_VALUE_OPTS = {"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--exec-path"}


def parse(prefix):
    """pid -> {'execs': [(path, argv)], 'children': [(pid, thread, full_fork)]}"""
    procs = {}
    for path in glob.glob(prefix + ".*"):
        pid = int(path.rsplit(".", 1)[1])
        info = procs.setdefault(pid, {"execs": [], "children": [], "syncs": 0})
        with open(path, errors="replace") as trace:
            for line in trace:
                line = line.rstrip("\n")
                m = EXEC_RE.match(line)
                if m and line.endswith("= 0"):
                    info["execs"].append((m.group(1), ARG_RE.findall(m.group(2))))
                    continue
                if SYNC_RE.match(line):
                    info["syncs"] += 1
                    continue
                m = CLONE_RE.match(line)
                if m:
                    flags = m.group(2)
                    thread = "CLONE_THREAD" in flags
                    full_fork = m.group(1) in ("clone", "clone3", "fork") and "CLONE_VM" not in flags
                    child = int(m.group(4) or m.group(3))
                    info["children"].append((child, thread, full_fork))
    return procs


def label(path, argv, agent):
    prog = path.rsplit("/", 1)[-1]
    if prog == agent:
        return "agent"
    if prog == "git":
        args = argv[1:]
        i = 0
        while i < len(args) and args[i].startswith("-"):
            i += 2 if args[i] in GIT_VALUE_OPTS else 1
        sub = args[i] if i < len(args) else "?"
        if sub == "worktree" and i + 1 < len(args):
            sub += " " + args[i + 1]
        return "git " + sub
    return prog


def main():
    prefix, tasks, engine, agent = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    procs = parse(prefix)
    parent, thread_of = {}, {}
    for pid, info in procs.items():
        for child, thread, full_fork in info["children"]:
            # without --decode-pids=pidns a clone inside a pid namespace returns the
            # namespace's pid, which names no trace file: such children stay unattributed.
            if child in procs:
                parent[child] = pid
                thread_of[child] = thread
                procs[child]["full_fork"] = full_fork
    roots = [pid for pid in procs if pid not in parent and procs[pid]["execs"]
             and procs[pid]["execs"][0][0] == engine and "run" in procs[pid]["execs"][0][1]]
    if len(roots) != 1:
        sys.exit(f"spawns.py: expected one traced `engine run` root process, found {roots}")

    def tgid(pid):
        while thread_of.get(pid):
            pid = parent[pid]
        return pid

    # role of each process (not thread): engine / bwrap / agent / git / other, and the group
    # that its descendants are reported under.
    role, group = {}, {}
    own = collections.Counter()
    full_forks = 0
    inside = collections.defaultdict(collections.Counter)

    def first_exec_below(pid):
        """The first program exec'd by pid or a descendant that is not bwrap itself."""
        stack = [pid]
        while stack:
            p = stack.pop(0)
            for path, argv in procs[p]["execs"]:
                if not path.endswith("/bwrap"):
                    return label(path, argv, agent)
            stack.extend(c for c, _, _ in procs[p]["children"] if c in procs)
        return "?"

    order = sorted(procs)  # pids grow with time here; parents are seen before children
    role[roots[0]] = "engine"
    for pid in order:
        if pid == roots[0] or thread_of.get(pid):
            continue
        if pid not in parent:
            for path, argv in procs[pid]["execs"][:1]:
                inside["inside bwrap (parent in a pid namespace)"][label(path, argv, agent)] += 1
            continue
        spawner = tgid(parent[pid])
        execs = procs[pid]["execs"]
        if role.get(spawner) == "engine":
            if not execs:
                own["(fork without exec)"] += 1
                role[pid] = "engine"
            else:
                path, argv = execs[0]
                name = label(path, argv, agent)
                if path == engine and name != "agent" and "scripted-agent" not in argv:
                    role[pid] = "engine"
                    own["engine (re-exec)"] += 1
                elif name == "bwrap":
                    role[pid], group[pid] = "bwrap", "inside bwrap"
                    own["bwrap -> " + first_exec_below(pid)] += 1
                else:
                    role[pid] = "agent" if name == "agent" else "git" if name.startswith("git") else "other"
                    group[pid] = {"agent": "inside the agent", "git": "git's own children"}.get(
                        role[pid], "children of other spawns")
                    own[name] += 1
            if procs[pid].get("full_fork"):
                full_forks += 1
        else:
            role[pid] = role.get(spawner, "other")
            group[pid] = group.get(spawner, "children of other spawns")
            if not execs:
                continue  # a fork of its parent (bwrap's own init process, a subshell)
            name = label(execs[0][0], execs[0][1], agent)
            if role[pid] == "bwrap":
                # what bwrap runs: already counted as `bwrap -> name`; its children are its own
                role[pid] = "agent" if name == "agent" else "git" if name.startswith("git") else "other"
                group[pid] = {"agent": "inside the agent", "git": "git's own children"}.get(
                    role[pid], "inside bwrap")
                continue
            inside[group[pid]][name] += 1

    engine_syncs = sum(info["syncs"] for pid, info in procs.items()
                       if role.get(tgid(pid) if pid in parent or pid == roots[0] else pid) == "engine")
    total = sum(own.values())
    print(f"engine's own spawns per task: {total / tasks:.1f} "
          f"({full_forks / tasks:.1f} of them full fork()s of the engine)")
    kinds = collections.Counter()
    for name, n in own.items():
        kinds["git" if name.startswith("git ") else "bwrap" if name.startswith("bwrap") else name] += n
    print("  by kind: " + ", ".join(f"{k} {n / tasks:.1f}" for k, n in kinds.most_common()))
    for name, n in sorted(own.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {n / tasks:6.1f}  {name}")
    for g in ("inside bwrap", "inside the agent", "inside bwrap (parent in a pid namespace)",
              "git's own children", "children of other spawns"):
        if inside.get(g):
            items = ", ".join(f"{n / tasks:.1f} {k}" for k, n in inside[g].most_common())
            print(f"not the engine's, {g} (per task): {items}")
    print(f"fsync/fdatasync calls by the engine per task: {engine_syncs / tasks:.1f}")


if __name__ == "__main__":
    main()
