from .base_face_analysis import BaseFaceDetector, BaseFaceLandmarker, BaseFaceParser, FaceDetections
from .fid_inception import FIDInceptionV3
from .iresnet import IResNet
from .landmark_face_parser import LandmarkFaceParser
from .mediapipe_face_mesh_landmarker import MediaPipeFaceMeshLandmarker
from .mmpose_face_landmarker import MMPoseFaceLandmarker
from .mmseg_face_parser import MMSegFaceParser
from .pretrained import FrozenModule, load_pretrained
from .vgg19_features import VGG19Features
from .whole_image_face_detector import WholeImageFaceDetector
from .yunet_face_detector import YuNetFaceDetector

__all__ = [
    'FrozenModule', 'load_pretrained', 'VGG19Features', 'FIDInceptionV3', 'IResNet',
    'BaseFaceDetector', 'BaseFaceLandmarker', 'BaseFaceParser', 'FaceDetections',
    'YuNetFaceDetector', 'WholeImageFaceDetector', 'MediaPipeFaceMeshLandmarker',
    'LandmarkFaceParser', 'MMPoseFaceLandmarker', 'MMSegFaceParser'
]
