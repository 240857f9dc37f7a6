#!/usr/bin/env bash
# Installs what the web and MCP tests (tests/web, `scripts/test.sh web`) need:
#   - Debian's `chromium` and `chromium-driver` (headless browser and its WebDriver), when
#     /usr/bin/chromium or /usr/bin/chromedriver is missing;
#   - a Python venv at target/web-venv with the versions pinned in tests/web/requirements.txt
#     (pytest, selenium, the official MCP Python SDK `mcp`), rebuilt when that file changes.
# Idempotent and quiet when everything is there; needs no terminal (CI=true, no stdin).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
requirements=tests/web/requirements.txt
venv=target/web-venv

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo -n"
  fi
fi

apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-web-test-tools: no apt-get; install $* yourself" >&2
    exit 1
  fi
  if [ "$(id -u)" -ne 0 ] && [ -z "$sudo" ]; then
    echo "install-web-test-tools: $* missing and this user cannot install packages" >&2
    exit 1
  fi
  # The package lists may be missing or stale on a fresh machine: update once, then retry.
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" \
    </dev/null >/dev/null 2>&1 \
    || { $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null >/dev/null &&
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "$@" </dev/null >/dev/null; }
}

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  echo "install-web-test-tools: installing chromium and chromium-driver (apt-get)" >&2
  apt_install chromium chromium-driver
fi
for tool in /usr/bin/chromium /usr/bin/chromedriver; do
  [ -x "$tool" ] || { echo "install-web-test-tools: $tool still missing" >&2; exit 1; }
done

# The venv is up to date when it was built from this very requirements file.
python=/usr/bin/python3
[ -x "$python" ] || python=$(command -v python3)
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "install-web-test-tools: building $venv from $requirements" >&2
if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  apt_install python3-venv
fi
rm -rf "$venv"
"$python" -m venv "$venv"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
"$venv/bin/python" -m pip install -q -r "$requirements" </dev/null
echo "$want" >"$stamp"
