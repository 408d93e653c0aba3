"""numpy helpers shared by the stage-2 synthesis transforms (HxWx3 uint8 RGB, HxW uint8 labels)."""
from typing import Tuple

import cv2
import numpy as np

from headswap.structures.face_labels import label_lut  # re-exported for old imports

__all__ = ['check_image', 'check_parsing', 'label_lut', 'nearest_fill', 'smooth_field',
           'paste_head_over_scene']


def check_image(results: dict, key: str) -> np.ndarray:
    """``results[key]`` as an HxWx3 uint8 image, or a ValueError naming the key."""
    if key not in results:
        raise KeyError(f'{key} is missing from the transform results (have {sorted(results)})')
    img = results[key]
    if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3 \
            or img.dtype != np.uint8:
        desc = (f'{img.dtype} {img.shape}' if isinstance(img, np.ndarray)
                else type(img).__name__)
        raise ValueError(f'{key} must be an HxWx3 uint8 RGB image, got {desc}')
    return img


def check_parsing(results: dict, key: str, shape: Tuple[int, int]) -> np.ndarray:
    """``results[key]`` as an HxW uint8 label map of ``shape``, or a ValueError."""
    if key not in results:
        raise KeyError(f'{key} is missing from the transform results (have {sorted(results)})')
    lab = results[key]
    if not isinstance(lab, np.ndarray) or lab.ndim != 2 or lab.dtype != np.uint8:
        desc = (f'{lab.dtype} {lab.shape}' if isinstance(lab, np.ndarray)
                else type(lab).__name__)
        raise ValueError(f'{key} must be an HxW uint8 label map, got {desc}')
    if lab.shape != tuple(shape):
        raise ValueError(f'{key} is {lab.shape[0]}x{lab.shape[1]} but its image is '
                         f'{shape[0]}x{shape[1]}')
    return lab


def nearest_fill(region: np.ndarray) -> np.ndarray:
    """For every pixel, the flat index of the nearest pixel outside ``region`` (HxW bool).

    Pixels outside ``region`` map to themselves. Raises if ``region`` is the
    whole image (there is nothing to fill from).
    """
    h, w = region.shape
    if region.all():
        raise ValueError('cannot fill a region that covers the whole image')
    src = region.astype(np.uint8)
    _, nearest_label = cv2.distanceTransformWithLabels(src, cv2.DIST_L2, 5,
                                                       labelType=cv2.DIST_LABEL_PIXEL)
    ys, xs = np.nonzero(~region)
    index_of_label = np.zeros(int(nearest_label.max()) + 1, dtype=np.int64)
    index_of_label[nearest_label[ys, xs]] = ys * w + xs
    return index_of_label[nearest_label]


def smooth_field(shape: Tuple[int, int], grid: int, low: float, high: float) -> np.ndarray:
    """A smooth random HxW float32 field in ``[low, high]`` (numpy's global RNG).

    Uniform values on a ``(grid + 1) x (grid + 1)`` lattice, bicubically
    upsampled (and clipped back into the range).
    """
    coarse = np.random.uniform(low, high, size=(grid + 1, grid + 1)).astype(np.float32)
    field = cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    return np.clip(field, low, high)


def paste_head_over_scene(head_img: np.ndarray, head_parsing: np.ndarray, head_mask: np.ndarray,
                          scene_img: np.ndarray, scene_parsing: np.ndarray, hole: np.ndarray,
                          blur: int) -> Tuple[np.ndarray, np.ndarray]:
    """The blender's view of A: A's head over T's scene with T's own head removed.

    ``hole`` (T's head, HxW bool) is filled with the colours and labels of the
    nearest pixels outside it (the colours then Gaussian-blurred with a
    ``blur``-pixel kernel, if > 1), so nothing of T's head survives; then A's
    pixels and labels inside ``head_mask`` are pasted on top.

    Returns:
        The image (HxWx3 uint8) and its parsing (HxW uint8).
    """
    img, lab = scene_img.copy(), scene_parsing.copy()
    if hole.any():
        nearest = nearest_fill(hole)[hole]
        img[hole] = scene_img.reshape(-1, 3)[nearest]
        lab[hole] = scene_parsing.reshape(-1)[nearest]
        if blur > 1:
            k = blur | 1
            img[hole] = cv2.GaussianBlur(img, (k, k), 0)[hole]
    img[head_mask] = head_img[head_mask]
    lab[head_mask] = head_parsing[head_mask]
    return img, lab
