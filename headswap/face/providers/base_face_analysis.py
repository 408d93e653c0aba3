"""Interfaces of the swappable face-analysis components of data preparation.

Every detector, landmarker and parser is a registered class implementing one of
these interfaces, so configs and the preparation tool can swap them
(``detector=dict(type='YuNetFaceDetector')``). Images are ``(H, W, 3)`` uint8
RGB numpy arrays; methods take lists so GPU implementations can batch.
"""
from abc import ABCMeta, abstractmethod
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

__all__ = ['FaceDetections', 'box_iou', 'BaseFaceDetector', 'BaseFaceLandmarker', 'BaseFaceParser']


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one ``(4,)`` box with ``(N, 4)`` boxes (``x1, y1, x2, y2``)."""
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return inter / np.maximum(area(box) + area(boxes) - inter, 1e-9)


@dataclass
class FaceDetections:
    """Faces found in one image.

    Attributes:
        boxes: ``(N, 4)`` float32 ``x1, y1, x2, y2`` in pixels.
        scores: ``(N,)`` detection confidences in [0, 1].
        keypoints: ``(N, 5, 2)`` eyes (image-left, image-right), nose tip,
            mouth corners (image-left, image-right), or None if the detector
            has none.
    """

    boxes: np.ndarray
    scores: np.ndarray
    keypoints: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def empty(cls) -> 'FaceDetections':
        return cls(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), None)


class BaseFaceDetector(metaclass=ABCMeta):
    """Finds faces. ``detect(images) -> [FaceDetections per image]``."""

    @abstractmethod
    def detect(self, images: Sequence[np.ndarray]) -> List[FaceDetections]:
        """Faces of each image, highest score first."""


class BaseFaceLandmarker(metaclass=ABCMeta):
    """Predicts 68 iBUG landmarks for one face box per image.

    Attributes:
        landmark_format: Layout of the returned points (``'ibug68'``).
    """

    landmark_format: str = 'ibug68'

    @abstractmethod
    def predict(self, images: Sequence[np.ndarray], boxes: np.ndarray,
                keypoints: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
        """Landmarks of the face in ``boxes[i]`` of ``images[i]``.

        Args:
            images: B images.
            boxes: ``(B, 4)`` face boxes ``x1, y1, x2, y2``.
            keypoints: Optional ``(B, 5, 2)`` detector keypoints (see
                :class:`FaceDetections`), used by landmarkers that need the
                face's roll.

        Returns:
            ``(B, 68, 2)`` float32 points in image pixels and ``(B,)`` scores in [0, 1].
        """


class BaseFaceParser(metaclass=ABCMeta):
    """Labels every pixel with one of the 19 face-parsing classes.

    Attributes:
        name: What made the maps, written to the index metainfo (``parser``).
        needs_landmarks: :meth:`parse` needs the crops' landmarks.
    """

    name: str = 'unknown'
    needs_landmarks: bool = False

    @abstractmethod
    def parse(self, images: Sequence[np.ndarray],
              landmarks: Optional[np.ndarray] = None) -> np.ndarray:
        """B aligned crops (and their ``(B, 68, 2)`` landmarks) -> ``(B, H, W)`` uint8 labels."""
