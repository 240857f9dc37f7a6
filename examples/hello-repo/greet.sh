#!/bin/sh
# greet NAME: prints a greeting. The example project the demo workflow checks.
name="${1:-world}"
echo "Hello, ${name}!"
