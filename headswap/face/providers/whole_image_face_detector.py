from typing import List, Sequence

import numpy as np

from headswap.registry import MODELS
from .base_face_analysis import BaseFaceDetector, FaceDetections

__all__ = ['WholeImageFaceDetector']


@MODELS.register_module()
class WholeImageFaceDetector(BaseFaceDetector):
    """For inputs that are already face crops: one face box per image.

    Args:
        margin: Fraction of the image side left outside the box on each side
            (a loosely cropped face fills the middle of the image).
    """

    def __init__(self, margin: float = 0.2):
        if not 0 <= margin < 0.5:
            raise ValueError(f'margin must be in [0, 0.5), got {margin}')
        self.margin = margin

    def detect(self, images: Sequence[np.ndarray]) -> List[FaceDetections]:
        out = []
        for img in images:
            h, w = img.shape[:2]
            m = self.margin
            box = np.array([[w * m, h * m, w * (1 - m), h * (1 - m)]], np.float32)
            out.append(FaceDetections(box, np.ones(1, np.float32), None))
        return out
