#!/usr/bin/env bash
# Installs the pinned agent CLIs the conformance suite (tests/conformance) runs for real:
# Claude Code, Codex, Gemini CLI and opencode from npm, aider from PyPI, into a cache directory
# ($ENGINE_AGENT_CLIS, default ~/.cache/engine/agent-clis). Idempotent: a CLI already at its
# pinned version is kept. Any failure stops with a non-zero exit: the suite never skips a CLI.
#
# Prints nothing on success but the directory; the CLIs are in $dir/bin.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${ENGINE_AGENT_CLIS:-$HOME/.cache/engine/agent-clis}
versions="$root/tests/conformance/versions.txt"
mkdir -p "$dir/bin"

pin() { awk -v n="$1" '$1 == n { print $2 }' "$versions"; }

need() {
    command -v "$1" >/dev/null 2>&1 || { echo "install-agent-clis: '$1' is required (install Node.js 20+/npm and Python 3.10+)" >&2; exit 1; }
}
need node
need npm
need python3

# npm: one prefix holding the four packages at their pinned versions. Their install scripts must
# run: Claude Code's postinstall links the native binary that comes as a registry dependency.
npm_pkgs=()
for name in @anthropic-ai/claude-code @openai/codex @google/gemini-cli opencode-ai; do
    npm_pkgs+=("$name@$(pin "$name")")
done
stamp="$dir/npm/.installed"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "${npm_pkgs[*]}" ]; then
    rm -rf "$dir/npm"
    mkdir -p "$dir/npm"
    echo "install-agent-clis: npm install ${npm_pkgs[*]}" >&2
    (cd "$dir/npm" && npm install --no-audit --no-fund --no-save \
        --prefix "$dir/npm" "${npm_pkgs[@]}" >&2) ||
        { echo "install-agent-clis: npm install failed" >&2; exit 1; }
fi
for cli in claude codex gemini opencode; do
    ln -sf "$dir/npm/node_modules/.bin/$cli" "$dir/bin/$cli"
done

# aider: its own virtual environment (it pins many Python packages).
aider_pin="aider-chat==$(pin aider-chat)"
stamp="$dir/aider/.installed"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$aider_pin" ]; then
    echo "install-agent-clis: pip install $aider_pin" >&2
    python3 -m venv "$dir/aider" >&2
    "$dir/aider/bin/pip" install --quiet --disable-pip-version-check "$aider_pin" >&2 ||
        { echo "install-agent-clis: pip install $aider_pin failed" >&2; exit 1; }
fi
ln -sf "$dir/aider/bin/aider" "$dir/bin/aider"

# Each CLI must start and say its pinned version.
check() {
    local cli=$1 want=$2 got
    got=$("$dir/bin/$cli" --version 2>&1 </dev/null | head -5) ||
        { echo "install-agent-clis: '$cli --version' failed: $got" >&2; exit 1; }
    case "$got" in
    *"$want"*) ;;
    *) echo "install-agent-clis: $cli reports '$got', expected $want" >&2; exit 1 ;;
    esac
}
check claude "$(pin @anthropic-ai/claude-code)"
check codex "$(pin @openai/codex)"
check gemini "$(pin @google/gemini-cli)"
check opencode "$(pin opencode-ai)"
check aider "$(pin aider-chat)"
# Stamps only once every CLI answered with its pinned version: a broken install is redone.
echo "${npm_pkgs[*]}" >"$dir/npm/.installed"
echo "$aider_pin" >"$dir/aider/.installed"
echo "$dir"
