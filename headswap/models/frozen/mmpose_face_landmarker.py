"""Old import path of the mmpose landmarker:
:mod:`headswap.face.providers.mmpose_face_landmarker`."""
from headswap.face.providers.mmpose_face_landmarker import (RTMPOSE_FACE68_CHECKPOINT,
                                                            RTMPOSE_FACE68_CONFIG,
                                                            MMPoseFaceLandmarker)

__all__ = ['MMPoseFaceLandmarker', 'RTMPOSE_FACE68_CHECKPOINT', 'RTMPOSE_FACE68_CONFIG']
