from typing import Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from headswap.registry import TRANSFORMS
from headswap.structures.face_labels import HAIR_LABELS
from .parsing_ops import check_image, check_parsing, label_lut

__all__ = ['ShiftHeadColor']


@TRANSFORMS.register_module()
class ShiftHeadColor(BaseTransform):
    """Shift the colours of A's head, so the blender must take T's colours from the exemplar.

    Works on ``head_img`` / ``head_parsing`` (made by ``PerturbHeadMask``) in
    HSV: a hue rotation, saturation and brightness gains, one draw for the
    face (head labels other than ``hair_labels``) and, with probability
    ``hair_prob``, an independent draw for the hair (else the face's). Pixels
    outside the head are untouched. numpy's global generator only.

    Args:
        head_labels: Parsing labels of the head.
        hair_labels: Head labels drawn separately (hair, hat).
        hue_shift: Largest hue rotation in degrees.
        saturation_range: Range of the saturation gain.
        brightness_range: Range of the brightness (V) gain.
        hair_prob: Probability of an independent draw for the hair.
        prob: Probability to shift at all.
    """

    def __init__(self, head_labels: Sequence[int], hair_labels: Sequence[int] = HAIR_LABELS,
                 hue_shift: float = 12.0, saturation_range: Tuple[float, float] = (0.7, 1.3),
                 brightness_range: Tuple[float, float] = (0.7, 1.3), hair_prob: float = 0.5,
                 prob: float = 1.0):
        super().__init__()
        for name, (low, high) in (('saturation_range', saturation_range),
                                  ('brightness_range', brightness_range)):
            if not 0 <= low <= high:
                raise ValueError(f'{name} must be 0 <= low <= high, got {(low, high)}')
        self.head_labels = [int(lab) for lab in head_labels]
        self.hair_labels = [int(lab) for lab in hair_labels]
        self.head_lut = label_lut(self.head_labels)
        self.hair_lut = label_lut(self.hair_labels)
        self.hue_shift = float(hue_shift)
        self.saturation_range = tuple(float(v) for v in saturation_range)
        self.brightness_range = tuple(float(v) for v in brightness_range)
        self.hair_prob = float(hair_prob)
        self.prob = float(prob)

    def _draw(self) -> Tuple[float, float, float]:
        return (np.random.uniform(-self.hue_shift, self.hue_shift),
                np.random.uniform(*self.saturation_range),
                np.random.uniform(*self.brightness_range))

    @staticmethod
    def _apply(hsv: np.ndarray, mask: np.ndarray, params: Tuple[float, float, float]) -> None:
        dh, gs, gv = params
        hsv[..., 0][mask] = np.mod(hsv[..., 0][mask] + dh, 360.0)
        hsv[..., 1][mask] = np.clip(hsv[..., 1][mask] * gs, 0.0, 1.0)
        hsv[..., 2][mask] = np.clip(hsv[..., 2][mask] * gv, 0.0, 1.0)

    def transform(self, results: dict) -> dict:
        img = check_image(results, 'head_img')
        lab = check_parsing(results, 'head_parsing', img.shape[:2])
        apply = np.random.rand() < self.prob
        face_params = self._draw()
        hair_params = self._draw() if np.random.rand() < self.hair_prob else face_params
        head = self.head_lut[lab]
        if not apply or not head.any():
            return results
        hair = head & self.hair_lut[lab]
        face = head & ~hair
        hsv = cv2.cvtColor(img.astype(np.float32) / 255.0, cv2.COLOR_RGB2HSV)
        self._apply(hsv, face, face_params)
        self._apply(hsv, hair, hair_params)
        rgb = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
        out = img.copy()
        out[head] = np.clip(np.round(rgb[head] * 255.0), 0, 255).astype(np.uint8)
        results['head_img'] = out
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(hue_shift={self.hue_shift}, '
                f'saturation_range={self.saturation_range}, '
                f'brightness_range={self.brightness_range}, hair_prob={self.hair_prob})')
