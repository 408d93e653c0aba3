import math
from typing import Optional, Sequence, Tuple

import numpy as np

from headswap.registry import MODELS
from .base_face_analysis import BaseFaceLandmarker
from .packaged_models import packaged_model_file, read_tflite

__all__ = ['MediaPipeFaceMeshLandmarker', 'MEDIAPIPE_TO_IBUG68']

# Face-mesh vertex used for each of the 68 iBUG points (jaw, brows, nose,
# eyes, outer lips, inner lips), following the mesh's published topology.
MEDIAPIPE_TO_IBUG68 = np.array([
    127, 234, 93, 132, 58, 136, 150, 176, 152, 400, 379, 365, 288, 361, 323, 454, 356,
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300,
    168, 197, 5, 4, 75, 97, 2, 326, 305,
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,
    78, 82, 13, 312, 308, 317, 14, 87,
])

_INPUT = 192


@MODELS.register_module()
class MediaPipeFaceMeshLandmarker(BaseFaceLandmarker):
    """MediaPipe's face-mesh model (468 points) reduced to the 68 iBUG points.

    Runs the ``face_landmark.tflite`` model that the ``mediapipe`` wheel ships
    (Apache-2.0) with OpenCV's DNN module, batched, on CPU; only the file is
    used, so ``pip install --no-deps mediapipe==0.10.21`` suffices and
    mediapipe's own runtime (and its protobuf / jax pins) is not needed.

    The face is cut from the image as MediaPipe does: a square of
    ``roi_scale`` times the detector box, rotated so the eyes (from the
    detector's keypoints, when given) are level. The score is the model's
    face-presence probability.

    Args:
        model_path: A ``face_landmark.tflite`` file; None for the packaged one.
        roi_scale: Side of the model's input square relative to the box side.
    """

    def __init__(self, model_path: Optional[str] = None, roi_scale: float = 1.5):
        self.model_path = packaged_model_file(
            'mediapipe', 'modules/face_landmark/face_landmark.tflite', 'mediapipe==0.10.21',
            model_path)
        self.roi_scale = roi_scale
        self._net = read_tflite(self.model_path)
        self._outputs = self._net.getUnconnectedOutLayersNames()

    def _roi_matrix(self, box: np.ndarray, kps: Optional[np.ndarray]) -> np.ndarray:
        """``(2, 3)`` affine matrix from image pixels to the model's input pixels."""
        centre = (box[:2] + box[2:]) / 2
        side = self.roi_scale * max(box[2] - box[0], box[3] - box[1], 1.0)
        theta = 0.0
        if kps is not None:
            dx, dy = kps[1] - kps[0]
            theta = math.atan2(dy, dx)
        s = _INPUT / side
        c, si = math.cos(theta), math.sin(theta)
        a = s * np.array([[c, si], [-si, c]])
        b = np.array([_INPUT / 2, _INPUT / 2]) - a @ centre
        return np.concatenate([a, b[:, None]], axis=1)

    def predict_mesh(self, images: Sequence[np.ndarray], boxes: np.ndarray,
                     keypoints: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
        """All 468 mesh points with depth: ``(B, 468, 3)`` float32 and ``(B,)`` scores.

        ``x, y`` are image pixels; ``z`` is the model's relative depth (smaller is
        nearer the camera), scaled to image pixels like ``x, y``.
        """
        import cv2
        if len(images) == 0:
            return np.zeros((0, 468, 3), np.float32), np.zeros((0,), np.float32)
        mats, crops = [], []
        for i, img in enumerate(images):
            m = self._roi_matrix(np.asarray(boxes[i], np.float64),
                                 None if keypoints is None else keypoints[i])
            crop = cv2.warpAffine(img, m, (_INPUT, _INPUT), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT)
            mats.append(m)
            crops.append(crop)
        blob = np.stack(crops).astype(np.float32).transpose(0, 3, 1, 2) / 255.0
        self._net.setInput(np.ascontiguousarray(blob))
        outs = self._net.forward(self._outputs)
        flag = next(o for o in outs if o.reshape(len(crops), -1).shape[1] == 1)
        mesh = next(o for o in outs if o.reshape(len(crops), -1).shape[1] == 468 * 3)
        pts = mesh.reshape(len(crops), 468, 3).astype(np.float64)
        out = np.empty((len(crops), 468, 3), np.float32)
        for i, m in enumerate(mats):
            inv = cv2.invertAffineTransform(m)
            out[i, :, :2] = pts[i, :, :2] @ inv[:, :2].T + inv[:, 2]
            out[i, :, 2] = pts[i, :, 2] * np.sqrt(abs(np.linalg.det(inv[:, :2])))
        scores = 1.0 / (1.0 + np.exp(-flag.reshape(-1).astype(np.float64)))
        return out, scores.astype(np.float32)

    def predict(self, images: Sequence[np.ndarray], boxes: np.ndarray,
                keypoints: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
        mesh, scores = self.predict_mesh(images, boxes, keypoints)
        if len(mesh) == 0:
            return np.zeros((0, 68, 2), np.float32), scores
        return np.ascontiguousarray(mesh[:, MEDIAPIPE_TO_IBUG68, :2]), scores
