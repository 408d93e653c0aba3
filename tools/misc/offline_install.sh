#!/usr/bin/env bash
# Install the OpenMMLab stack on a host WITHOUT package-index access (e.g. an air-gapped
# GPU node) that already has torch + torchvision, from wheels carried there.
#
#   tools/misc/offline_install.sh WHEEL_DIR [--target DIR]
#
# WHEEL_DIR holds pure-Python / matching-ABI wheels and mmcv-2.1.0.tar.gz, as
# tools/misc/download_wheels.sh WHEEL_DIR --python-version X.Y fills it on an online machine. mmcv is built here against the host's torch (CPU ops, all
# cores; HEADSWAP_MMCV_CUDA=1 for CUDA ops) unless WHEEL_DIR already has an mmcv wheel.
# With --target, packages go to DIR (add it to PYTHONPATH) instead of the active environment.
set -euo pipefail
WHEELS=$(cd "$1" && pwd); shift
TARGET=()
if [ "${1:-}" = "--target" ]; then TARGET=(--target "$2"); export PYTHONPATH="$2${PYTHONPATH:+:$PYTHONPATH}"; fi
PY=${PYTHON:-python3}
"$PY" -c 'import torch, torchvision' || { echo "offline_install: needs a working torch + torchvision" >&2; exit 1; }
PIP=("$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade "${TARGET[@]}")
shopt -s nullglob
wheels=("$WHEELS"/*.whl)
[ ${#wheels[@]} -gt 0 ] && "${PIP[@]}" "${wheels[@]}"
if ! "$PY" -c 'import mmcv.ops' >/dev/null 2>&1; then
    SDIST=$WHEELS/mmcv-2.1.0.tar.gz
    [ -f "$SDIST" ] || { echo "offline_install: no mmcv wheel or $SDIST" >&2; exit 1; }
    BUILD=$(mktemp -d)
    tar -xzf "$SDIST" -C "$BUILD"
    sed -i 's/-std=c++17/-std=c++20/g' "$BUILD/mmcv-2.1.0/setup.py"
    if [ "${HEADSWAP_MMCV_CUDA:-0}" = 1 ]; then CUDA_ENV=(FORCE_CUDA=1); else CUDA_ENV=(FORCE_CUDA=0 CUDA_VISIBLE_DEVICES=); fi
    env MMCV_WITH_OPS=1 "${CUDA_ENV[@]}" CFLAGS=-g0 CXXFLAGS=-g0 MAX_JOBS=$(nproc) \
        "$PY" -m pip wheel -q --no-deps --no-build-isolation --no-index -w "$BUILD/dist" "$BUILD/mmcv-2.1.0"
    "${PIP[@]}" "$BUILD"/dist/mmcv-*.whl
    [ -n "${MMCV_WHEEL_OUT:-}" ] && cp "$BUILD"/dist/mmcv-*.whl "$MMCV_WHEEL_OUT/"
    rm -rf "$BUILD"
fi
"$PY" -c 'import mmcv, mmcv.ops, mmengine; print("offline_install: mmengine", mmengine.__version__, "mmcv", mmcv.__version__, "with ops")'
