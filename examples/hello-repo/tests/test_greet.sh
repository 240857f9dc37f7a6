#!/bin/sh
# The example project's tests: plain shell, no dependencies.
set -eu
here=$(dirname "$0")
out=$(sh "$here/../greet.sh" engine)
[ "$out" = "Hello, engine!" ] || { echo "FAIL: greet engine -> '$out'" >&2; exit 1; }
out=$(sh "$here/../greet.sh")
[ "$out" = "Hello, world!" ] || { echo "FAIL: greet -> '$out'" >&2; exit 1; }
echo "2 passed, 0 failed"
