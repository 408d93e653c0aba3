"""Old import path: :class:`FaceAnalysis` lives in :mod:`headswap.face.analysis`."""
from headswap.face.analysis import FaceAnalysis

__all__ = ['FaceAnalysis']
