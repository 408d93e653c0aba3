import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from headswap.registry import TRANSFORMS
from .frame_io import LANDMARK_KEYS

_LANDMARK_SUFFIXES = tuple('_' + key for key in LANDMARK_KEYS)  # gt_landmarks, ..._mirrored

__all__ = ['ResizeFrames']


@TRANSFORMS.register_module()
class ResizeFrames(BaseTransform):
    """Resize every image, label map and landmark set of a sample to ``size`` x ``size``.

    Entries are found by their key's suffix, as :class:`FaceFlip` does:
    ``*_img`` ``(H, W, 3)`` and ``*_imgs`` (list) images are resized with area
    interpolation when shrinking (bilinear when enlarging); ``*_parsing`` /
    ``*_parsings`` label maps with nearest neighbour; ``*_landmarks`` are
    scaled. For models trained below the prepared 512 px (e.g. the tiny CPU
    configs).

    Args:
        size: Output side in pixels.
    """

    def __init__(self, size: int):
        if size < 1:
            raise ValueError(f'ResizeFrames: size must be >= 1, got {size}')
        self.size = int(size)

    def _image(self, img: np.ndarray) -> np.ndarray:
        if img.shape[:2] == (self.size, self.size):
            return img
        shrink = img.shape[0] > self.size or img.shape[1] > self.size
        return cv2.resize(img, (self.size, self.size),
                          interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)

    def _labels(self, labels: np.ndarray) -> np.ndarray:
        return cv2.resize(labels, (self.size, self.size), interpolation=cv2.INTER_NEAREST)

    def transform(self, results: dict) -> dict:
        shape = None
        for key in list(results):
            value = results[key]
            if key.endswith('_img'):
                shape = shape or value.shape[:2]
                results[key] = self._image(value)
            elif key.endswith('_imgs'):
                results[key] = [self._image(v) for v in value]
            elif key.endswith('_parsing'):
                results[key] = self._labels(value)
            elif key.endswith('_parsings'):
                results[key] = [self._labels(v) for v in value]
        if shape is not None:
            scale = np.array([self.size / shape[1], self.size / shape[0]], np.float32)
            for key in list(results):
                if key.endswith(_LANDMARK_SUFFIXES):
                    results[key] = np.asarray(results[key], np.float32) * scale
            results['img_shape'] = (self.size, self.size)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size})'
