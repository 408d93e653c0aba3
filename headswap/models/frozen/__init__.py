"""No-grad networks used inside training losses and metrics (VGG-19 features, ArcFace's
IResNet, FID's Inception). The face-analysis models (detectors, landmarkers, parsers) live in
:mod:`headswap.face.providers` and are re-exported here for the old import paths."""
from headswap.face.providers import (BaseFaceDetector, BaseFaceLandmarker, BaseFaceParser,
                                     FaceDetections, LandmarkFaceParser,
                                     MediaPipeFaceMeshLandmarker, MMPoseFaceLandmarker,
                                     MMSegFaceParser, WholeImageFaceDetector, YuNetFaceDetector)
from headswap.utils.pretrained import FrozenModule, load_pretrained
from .fid_inception import FIDInceptionV3
from .iresnet import IResNet
from .vgg19_features import VGG19Features

__all__ = [
    'FrozenModule', 'load_pretrained', 'VGG19Features', 'FIDInceptionV3', 'IResNet',
    'BaseFaceDetector', 'BaseFaceLandmarker', 'BaseFaceParser', 'FaceDetections',
    'YuNetFaceDetector', 'WholeImageFaceDetector', 'MediaPipeFaceMeshLandmarker',
    'LandmarkFaceParser', 'MMPoseFaceLandmarker', 'MMSegFaceParser'
]
