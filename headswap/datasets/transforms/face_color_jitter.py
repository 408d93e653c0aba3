import numpy as np
from mmcv.transforms import BaseTransform

from headswap.registry import TRANSFORMS

__all__ = ['FaceColorJitter']


@TRANSFORMS.register_module()
class FaceColorJitter(BaseTransform):
    """Random brightness, contrast, saturation and hue, the same for every image of a sample.

    Applies to all ``*_img`` and ``*_imgs`` entries (RGB uint8), so a target
    and its driver stay identical and sources keep the target's colours. The
    factors are drawn like torchvision's ``ColorJitter`` (brightness,
    contrast, saturation in ``[1 - x, 1 + x]``, hue shift in ``[-h, h]`` of a
    full turn) in a random order. mmcv's colour functions assume BGR, so this
    one works in RGB directly. Randomness: numpy's global generator.

    Args:
        brightness, contrast, saturation: Jitter strengths (>= 0).
        hue: Hue jitter in [0, 0.5].
        prob: Probability of jittering a sample at all.
    """

    def __init__(self, brightness: float = 0.2, contrast: float = 0.2, saturation: float = 0.2,
                 hue: float = 0.02, prob: float = 1.0):
        if min(brightness, contrast, saturation) < 0 or not 0 <= hue <= 0.5:
            raise ValueError('brightness/contrast/saturation must be >= 0 and hue in [0, 0.5]')
        self.strength = dict(brightness=brightness, contrast=contrast, saturation=saturation,
                             hue=hue)
        self.prob = prob

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            return results
        ops = []
        for name in np.random.permutation(list(self.strength)):
            s = self.strength[name]
            if s == 0:
                continue
            factor = np.random.uniform(-s, s) if name == 'hue' else np.random.uniform(1 - s, 1 + s)
            ops.append((name, factor))
        for key in list(results):
            if key.endswith('_img'):
                results[key] = self.apply(results[key], ops)
            elif key.endswith('_imgs'):
                results[key] = [self.apply(v, ops) for v in results[key]]
        return results

    @staticmethod
    def apply(img: np.ndarray, ops) -> np.ndarray:
        """Apply ``[(name, factor), ...]`` to an RGB uint8 image."""
        import cv2
        out = img.astype(np.float32)
        for name, factor in ops:
            if name == 'brightness':
                out = out * factor
            elif name in ('contrast', 'saturation'):
                grey = out @ np.array([0.299, 0.587, 0.114], np.float32)
                base = grey.mean() if name == 'contrast' else grey[..., None]
                out = base + factor * (out - base)
            else:
                hsv = cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV)
                hsv[..., 0] = ((hsv[..., 0].astype(np.int32) + int(round(factor * 180))) % 180)
                out = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32)
            out = np.clip(out, 0, 255)
        return out.round().astype(np.uint8)
