"""Old import path of the face-analysis interfaces:
:mod:`headswap.face.providers.base_face_analysis`."""
from headswap.face.providers.base_face_analysis import (BaseFaceDetector, BaseFaceLandmarker,
                                                        BaseFaceParser, FaceDetections)

__all__ = ['BaseFaceDetector', 'BaseFaceLandmarker', 'BaseFaceParser', 'FaceDetections']
