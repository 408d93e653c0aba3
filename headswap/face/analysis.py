"""Face analysis for inference: the components and the alignment of data preparation.

:class:`FaceAnalysis` builds the detector, landmarker and parser of a preparation config
(``configs/data_preparation/*.py``) and aligns faces with *exactly* the template, crop scale,
vertical offset and smoothing the training data were prepared with
(:mod:`headswap.face.alignment`), at the swapper's resolution, with the face checks of
:mod:`headswap.face.quality`. OpenCV-based
components (YuNet, MediaPipe, the approximate parser) get one instance per thread, so a
thread pool runs them in parallel; torch components (mmpose, mmseg) are shared and batched.
"""
import threading
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .alignment import (DEFAULT_CROP_SCALE, face_window, five_points, similarity_transform,
                        template_points, transform_points)
from .providers.base_face_analysis import FaceDetections
from .quality import (INFERENCE_THRESHOLDS, build_component, face_sides, read_crop_landmarks,
                      usable_landmarks)

__all__ = ['FaceAnalysis']


def _is_torch_component(component) -> bool:
    import torch
    return isinstance(getattr(component, 'model', None), torch.nn.Module)


class FaceAnalysis:
    """Detector + landmarker + parser and the data-preparation alignment.

    Args:
        detector, landmarker, parser: Component configs (or built instances) of
            :mod:`headswap.face.providers`.
        preparation: The preparation settings the training data were made with
            (``crop_scale``, ``y_offset``, ``smooth_sigma``, ...).
        size: Side of the aligned crops (the swapper's resolution).
        device: Device for torch components (overrides their ``device``).
        min_face_size: Faces whose box side is smaller (source pixels) are ignored.
        min_landmark_score: Landmarks below this confidence count as no face.
    """

    def __init__(self, detector: Union[dict, object], landmarker: Union[dict, object],
                 parser: Union[dict, object], preparation: Optional[dict] = None,
                 size: int = 512, device: Optional[str] = None,
                 min_face_size: float = INFERENCE_THRESHOLDS['min_face_size'],
                 min_landmark_score: float = INFERENCE_THRESHOLDS['min_landmark_score']):
        prep = dict(preparation or {})
        self.size = int(size)
        self.crop_scale = float(prep.get('crop_scale', DEFAULT_CROP_SCALE))
        self.y_offset = float(prep.get('y_offset', 0.0))
        self.smooth_sigma = float(prep.get('smooth_sigma', 2.0))
        # as data preparation's default (DEFAULT_SETTINGS): the crop's landmarks are read on it
        self.landmarks_on_crop = bool(prep.get('landmarks_on_crop', True))
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
        return build_component(self._cfgs[name], self.device)

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
                keep = face_sides(det.boxes) >= self.min_face_size
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
        return lms, usable_landmarks(lms, scores, self.min_landmark_score)

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

    def read_crop_landmarks(self, crops: Sequence[np.ndarray], landmarks: np.ndarray
                            ) -> np.ndarray:
        """``(N, 68, 2)`` landmarks of aligned crops as the training data's were made: read
        again on each crop when the preparation did (``landmarks_on_crop``), else (and where
        that reading is unusable) ``landmarks``, the frame's moved into the crop."""
        landmarks = np.asarray(landmarks, np.float64)
        if not self.landmarks_on_crop or len(crops) == 0:
            return landmarks
        window = face_window(self.size, self.crop_scale, self.y_offset)
        return read_crop_landmarks(self._component('landmarker'), crops, landmarks, window,
                                   self.min_landmark_score)[0]

    def parse(self, crops: Sequence[np.ndarray], landmarks: np.ndarray) -> np.ndarray:
        """``(N, S, S)`` uint8 labels of aligned crops (CPU parsers)."""
        return np.asarray(self._component('parser').parse(list(crops), landmarks), np.uint8)

    def keypoint_alignment(self, keypoints: np.ndarray) -> np.ndarray:
        """``(2, 3)`` matrix from a detector's 5 keypoints (eyes, nose, mouth corners)."""
        return similarity_transform(np.asarray(keypoints, np.float64), self.template)
