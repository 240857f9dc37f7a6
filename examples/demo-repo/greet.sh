#!/bin/sh
# greet.sh [--name NAME]: prints a greeting.
name=world
while [ $# -gt 0 ]; do
  case "$1" in
    --name) name="$2"; shift 2 ;;
    *) echo "greet.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
echo "Hello, $name!"
