"""Old import path of the landmark parser:
:mod:`headswap.face.providers.landmark_face_parser`."""
from headswap.face.providers.landmark_face_parser import LandmarkFaceParser

__all__ = ['LandmarkFaceParser']
