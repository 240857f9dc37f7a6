#!/bin/sh
# Runs a command inside the network namespace it was started in (made by `unshare -n`), with
# the mock model API listening on 127.0.0.1:$MOCK_PORT. Refuses to run when any interface
# other than loopback exists, so nothing a CLI sends can leave the machine.
#
#   unshare -n -- sh netns-run.sh SCENARIO.json LOG.jsonl DUMP_DIR -- COMMAND [ARGS...]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
scenario=$1 log=$2 dump=$3
shift 3
[ "$1" = "--" ] && shift
ip link set lo up
others=$(ip -o link show | awk -F': ' '{print $2}' | grep -v '^lo$' || true)
if [ -n "$others" ]; then
    echo "netns-run: not an isolated network namespace (interfaces: $others)" >&2
    exit 97
fi
port=${MOCK_PORT:-8765}
python3 "$here/mock/server.py" --scenario "$scenario" --log "$log" --dump-dir "$dump" \
    --port "$port" --port-file "$dump/port" 2>"$dump/mock.stderr" &
mock=$!
i=0
while [ ! -f "$dump/port" ]; do
    i=$((i + 1))
    if [ $i -gt 200 ] || ! kill -0 $mock 2>/dev/null; then
        echo "netns-run: the mock model API did not start:" >&2
        cat "$dump/mock.stderr" >&2
        exit 98
    fi
    sleep 0.05
done
set +e
"$@"
rc=$?
kill $mock 2>/dev/null
wait $mock 2>/dev/null
exit $rc
