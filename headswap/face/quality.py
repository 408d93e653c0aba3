"""Which faces count: the thresholds, and the checks both callers run with them.

Data preparation and inference use the same checks with their own values (one table,
here); the values reach the code through the preparation settings
(:data:`headswap.datasets.preparation.DEFAULT_SETTINGS`) and the inference settings
(:data:`headswap.apis.DEFAULT_INFERENCE_SETTINGS`), which configs may override.

========================  ===========  =========  ==============================================
threshold                 preparation  inference  meaning
========================  ===========  =========  ==============================================
``min_face_size``         96 px        24 px      detector box side in source pixels; training
                                                  frames need detail, users' photos any face
``min_face_fraction``     0.25         (none)     preparation: a face is also big enough when
                                                  its box side is this fraction of the frame's
                                                  shorter side (the threshold is the smaller of
                                                  the two), so low-resolution webcam / phone
                                                  clips (176x144: 36 px) keep their frames
``min_landmark_score``    0.5          0.3        landmarker confidence; below it (or NaN, or
                                                  collapsed points) the frame has no usable face
``several_faces_ratio``   0.5          (choose)   preparation drops a frame whose 2nd face is at
                                                  least this fraction of the main one; inference
                                                  chooses a face instead (``target_face=``,
                                                  ``source_face=``)
``confident_face_score``  (none)       0.75       inference: detections counted as faces when
                                                  choosing one (the index, the count in the
                                                  several-faces warning, 'largest'); YuNet scores
                                                  clean faces of 20 px or more 0.87-0.94, false
                                                  positives and heavily degraded faces 0.4-0.75
``min_blur``              15.0         (none)     variance of the Laplacian on the aligned face
                                                  region, measured at the crop's resolution or
                                                  the face's own if lower (an upscaled crop is
                                                  not blurry for lacking detail its source never
                                                  had; preparation only)
========================  ===========  =========  ==============================================
"""
import copy
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .alignment import five_points

__all__ = ['PREPARATION_THRESHOLDS', 'INFERENCE_THRESHOLDS', 'face_sides', 'usable_landmarks',
           'read_crop_landmarks', 'read_crop_landmarks_and_mirrored', 'build_component']

PREPARATION_THRESHOLDS = dict(min_face_size=96.0, min_face_fraction=0.25,
                              several_faces_ratio=0.5, min_landmark_score=0.5, min_blur=15.0)
INFERENCE_THRESHOLDS = dict(min_face_size=24.0, min_landmark_score=0.3,
                            confident_face_score=0.75)


def face_sides(boxes: np.ndarray) -> np.ndarray:
    """``(N, 4)`` x1, y1, x2, y2 boxes -> ``(N,)`` longer box side."""
    return np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])


def usable_landmarks(landmarks: np.ndarray, scores: np.ndarray,
                     min_score: float) -> np.ndarray:
    """``(N, 68, 2)`` landmarks, ``(N,)`` scores -> ``(N,)`` bool: confident, finite, and
    not collapsed (the 5 alignment points span at least 1 px each way)."""
    lms = np.asarray(landmarks, np.float64)
    if len(lms) == 0:
        return np.zeros((0, ), bool)
    ok = np.asarray(scores, np.float64) >= min_score
    ok &= np.isfinite(lms).all(axis=(1, 2))
    ok &= np.ptp(five_points(np.nan_to_num(lms)), axis=1).min(axis=1) >= 1.0
    return ok


def _read_in_boxes(landmarker, images: Sequence[np.ndarray], boxes: np.ndarray,
                   min_score: float) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``landmarker``'s ``(N, 68, 2)`` readings of ``images`` in ``boxes``, their ``(N,)``
    scores and whether each is usable (:func:`usable_landmarks`)."""
    lms, scores = landmarker.predict(list(images), np.asarray(boxes, np.float32))
    lms, scores = np.asarray(lms, np.float64), np.asarray(scores, np.float64)
    return lms, scores, usable_landmarks(lms, scores, min_score)


def read_crop_landmarks(landmarker, crops: Sequence[np.ndarray], fallback: np.ndarray,
                        window: np.ndarray, min_score: float) -> Tuple[np.ndarray, np.ndarray]:
    """The landmarks of aligned ``crops``, read by ``landmarker`` in the face ``window``
    (:func:`~headswap.face.alignment.face_window`), where the reading is usable; the rows of
    ``fallback`` (``(N, 68, 2)``: the frame's landmarks moved into the crop) elsewhere.

    Why read again: landmarks read on the source frame and moved by the alignment differ from
    a reading of the aligned crop itself by a few crop pixels that vary from frame to frame
    (on the bundled sample's 176x144 clip, 0.031 inter-ocular distances once their mean offset
    is removed: 70% of the mean face's distance to its drivers), so a generator conditioned on
    them is told positions the crop does not show. Returns the landmarks and the ``(N,)`` scores of
    the readings."""
    fallback = np.asarray(fallback, np.float64)
    if len(crops) == 0:
        return fallback, np.zeros((0, ))
    boxes = np.repeat(np.asarray(window, np.float32)[None], len(crops), 0)
    lms, scores, ok = _read_in_boxes(landmarker, crops, boxes, min_score)
    return np.where(ok[:, None, None], lms, fallback), scores


def read_crop_landmarks_and_mirrored(landmarker, crops: Sequence[np.ndarray],
                                     fallback: np.ndarray, window: np.ndarray,
                                     min_score: float
                                     ) -> Tuple[np.ndarray, np.ndarray, List[Optional[np.ndarray]]]:
    """:func:`read_crop_landmarks`, and in the same landmarker call the reading of each
    crop's left-right mirror (in the mirrored crop's pixels, iBUG order as read): a list with
    ``None`` where either reading is unusable (a flipped sample must get the mirror of what
    an unflipped one gets, a crop reading, not the moved points).

    Why: a landmarker is not exactly mirror-symmetric, so the reading of a mirrored crop
    differs from the mirrored reading (x -> W - 1 - x, left and right points exchanged) by a
    few pixels that vary by point and frame (on the bundled sample's clip 2.75 px at 512,
    0.023 inter-ocular distances: half of the mean face's distance to its drivers).
    Training's horizontal flip (:class:`FaceFlip`) takes this reading where the data has
    it, so a flipped sample's landmarks are what the same landmarker reads on the flipped
    image, as an unflipped sample's are."""
    import cv2
    fallback = np.asarray(fallback, np.float64)
    n = len(crops)
    if n == 0:
        return fallback, np.zeros((0, )), []
    window = np.asarray(window, np.float32)
    width = crops[0].shape[1]
    mirrored_window = np.array([width - window[2], window[1], width - window[0], window[3]],
                               np.float32)
    images = list(crops) + [cv2.flip(np.ascontiguousarray(c), 1) for c in crops]
    boxes = np.concatenate([np.repeat(window[None], n, 0), np.repeat(mirrored_window[None], n, 0)])
    lms, scores, ok = _read_in_boxes(landmarker, images, boxes, min_score)
    mirrored = [m if k and k_m else None for m, k, k_m in zip(lms[n:], ok[:n], ok[n:])]
    return np.where(ok[:n, None, None], lms[:n], fallback), scores[:n], mirrored


def build_component(cfg, device: Optional[str] = None):
    """A detector / landmarker / parser from its config (a built instance is returned as is);
    ``device`` overrides the ``device`` of the config and of components nested in it."""
    if not isinstance(cfg, dict):
        return cfg
    cfg = copy.deepcopy(cfg)
    if device is not None:
        _set_device(cfg, device)
    import headswap.face.providers  # noqa: F401  (registers the components)
    from headswap.registry import MODELS
    return MODELS.build(cfg)


def _set_device(cfg: dict, device: str) -> None:
    """Set ``device`` of a component config and of components nested in it."""
    if 'device' in cfg:
        cfg['device'] = device
    for value in cfg.values():
        if isinstance(value, dict) and 'type' in value:
            _set_device(value, device)
