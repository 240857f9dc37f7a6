#!/usr/bin/env bash
# Installs what engine confines processes with: bubblewrap (`bwrap`) and util-linux `prlimit`.
# Does nothing when both are there; otherwise installs them with the system's package manager
# (as root, or through sudo) and fails loudly when it cannot. See docs/security.md.
set -euo pipefail
if command -v bwrap >/dev/null 2>&1 && command -v prlimit >/dev/null 2>&1; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "install-sandbox-tools: bubblewrap is missing and this user cannot install packages;" \
      "install bubblewrap (and util-linux) yourself" >&2
    exit 1
  fi
fi
if command -v apt-get >/dev/null 2>&1; then
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap util-linux >/dev/null \
    || { $sudo apt-get update -q >/dev/null && \
         $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap util-linux >/dev/null; }
elif command -v dnf >/dev/null 2>&1; then
  $sudo dnf install -y -q bubblewrap util-linux
elif command -v pacman >/dev/null 2>&1; then
  $sudo pacman -S --noconfirm --needed bubblewrap util-linux
elif command -v apk >/dev/null 2>&1; then
  $sudo apk add --quiet bubblewrap util-linux
else
  echo "install-sandbox-tools: no known package manager; install bubblewrap yourself" >&2
  exit 1
fi
command -v bwrap >/dev/null 2>&1 || { echo "install-sandbox-tools: bwrap still missing" >&2; exit 1; }
