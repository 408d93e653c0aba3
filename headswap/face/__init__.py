"""Face analysis: detection, landmarks, alignment templates and parsing, in one package.

Inference (:mod:`headswap.apis`) and data preparation (:mod:`headswap.datasets.preparation`)
both call it, so a face is found, checked, aligned and parsed the same way in both:

* :mod:`.providers`: the frozen third-party models (YuNet, MediaPipe Face Mesh, mmpose,
  mmseg, ...) behind three interfaces (detector, landmarker, parser), registered in
  ``MODELS`` so configs name them by type;
* :mod:`.alignment`: the 5-point template, the similarity transform and temporal smoothing;
* :mod:`.quality`: the thresholds (one documented table) and the checks that use them;
* :mod:`.analysis`: :class:`FaceAnalysis`, the components plus the alignment for inference.
"""
from .alignment import (DEFAULT_CROP_SCALE, TIGHT_TEMPLATE, five_points, similarity_transform,
                        smooth_points, template_points, transform_points)
from .analysis import FaceAnalysis
from .providers.base_face_analysis import (BaseFaceDetector, BaseFaceLandmarker, BaseFaceParser,
                                           FaceDetections)
from .quality import (INFERENCE_THRESHOLDS, PREPARATION_THRESHOLDS, build_component, face_sides,
                      usable_landmarks)

__all__ = [
    'FaceAnalysis', 'FaceDetections', 'BaseFaceDetector', 'BaseFaceLandmarker', 'BaseFaceParser',
    'DEFAULT_CROP_SCALE', 'TIGHT_TEMPLATE', 'five_points', 'similarity_transform',
    'smooth_points', 'template_points', 'transform_points', 'PREPARATION_THRESHOLDS',
    'INFERENCE_THRESHOLDS', 'face_sides', 'usable_landmarks', 'build_component'
]
