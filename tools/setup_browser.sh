#!/usr/bin/env bash
# Headless Chromium and its WebDriver from the system's packages, for the web demo's browser
# test (tests/test_demo/test_web_demo_browser.py). Nothing is downloaded at test time.
#
#   bash tools/setup_browser.sh
#
# Debian / Ubuntu: apt-get install chromium chromium-driver (as root, or through sudo).
# Does nothing when both are already on PATH.
set -euo pipefail

log() { printf '[setup_browser] %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }

if { have chromium || have chromium-browser; } && have chromedriver; then
    log "found $( (chromium --version || chromium-browser --version) 2>/dev/null | head -n 1) and chromedriver"
    exit 0
fi
have apt-get || { echo "[setup_browser] ERROR: no apt-get: install Chromium and chromedriver with your package manager" >&2; exit 1; }
if [ "$(id -u)" = 0 ]; then SUDO=(); elif have sudo; then SUDO=(sudo -n); else
    echo "[setup_browser] ERROR: run as root or install sudo: apt-get install chromium chromium-driver" >&2
    exit 1
fi
log "installing chromium and chromium-driver with apt-get"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends chromium chromium-driver \
    fonts-liberation fonts-dejavu-core
log "installed $(chromium --version 2>/dev/null | head -n 1)"
