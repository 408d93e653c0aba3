"""Old import path of the whole-image detector:
:mod:`headswap.face.providers.whole_image_face_detector`."""
from headswap.face.providers.whole_image_face_detector import WholeImageFaceDetector

__all__ = ['WholeImageFaceDetector']
