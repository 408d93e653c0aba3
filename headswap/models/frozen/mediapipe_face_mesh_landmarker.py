"""Old import path of the MediaPipe landmarker:
:mod:`headswap.face.providers.mediapipe_face_mesh_landmarker`."""
from headswap.face.providers.mediapipe_face_mesh_landmarker import (_INPUT, MEDIAPIPE_TO_IBUG68,
                                                                    MediaPipeFaceMeshLandmarker)

__all__ = ['_INPUT', 'MEDIAPIPE_TO_IBUG68', 'MediaPipeFaceMeshLandmarker']
