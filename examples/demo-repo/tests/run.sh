#!/bin/sh
# The project's tests: `sh tests/run.sh` (exit 1 when a check fails).
fail=0
check() {
  expected="$1"; shift
  actual=$(sh ./greet.sh "$@" 2>&1)
  if [ "$actual" = "$expected" ]; then
    echo "ok - greet.sh $*"
  else
    echo "FAILED - greet.sh $*: expected '$expected', got '$actual'"
    fail=1
  fi
}
check "Hello, world!"
check "Hello, Ada!" --name Ada
exit $fail
