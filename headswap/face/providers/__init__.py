"""The frozen third-party models behind :mod:`headswap.face`: detectors, landmarkers, parsers.

Each is registered in ``MODELS`` (configs name them by type, e.g. ``type='YuNetFaceDetector'``)
and implements one of the three interfaces of :mod:`.base_face_analysis`. Nothing trains them.
:mod:`.multiscale` lets a detector with a small input find small faces in large images.
"""
from .base_face_analysis import BaseFaceDetector, BaseFaceLandmarker, BaseFaceParser, FaceDetections
from .landmark_face_parser import LandmarkFaceParser
from .mediapipe_face_mesh_landmarker import MediaPipeFaceMeshLandmarker
from .mmpose_face_landmarker import MMPoseFaceLandmarker
from .mmseg_face_parser import MMSegFaceParser
from .packaged_models import packaged_model_file
from .whole_image_face_detector import WholeImageFaceDetector
from .yunet_face_detector import YuNetFaceDetector

__all__ = [
    'BaseFaceDetector', 'BaseFaceLandmarker', 'BaseFaceParser', 'FaceDetections',
    'YuNetFaceDetector', 'WholeImageFaceDetector', 'MediaPipeFaceMeshLandmarker',
    'LandmarkFaceParser', 'MMPoseFaceLandmarker', 'MMSegFaceParser', 'packaged_model_file'
]
