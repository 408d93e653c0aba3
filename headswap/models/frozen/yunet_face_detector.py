"""Old import path of the YuNet detector:
:mod:`headswap.face.providers.yunet_face_detector`."""
from headswap.face.providers.yunet_face_detector import YuNetFaceDetector

__all__ = ['YuNetFaceDetector']
