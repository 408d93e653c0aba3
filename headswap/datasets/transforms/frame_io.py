"""Reading prepared frames, shared by the loading transforms."""
import os.path as osp
from typing import Optional

import numpy as np

from headswap.utils.media_io import imread_labels, imread_rgb

__all__ = ['read_rgb', 'read_labels', 'read_landmarks', 'to_image_tensor', 'to_label_tensor']


def _missing(path: str, what: str) -> FileNotFoundError:
    return FileNotFoundError(
        f'{path}: the index references this {what}, but the file does not exist; the dataset '
        'folder is incomplete (rerun tools/dataset_converters/prepare_talking_heads.py on it, '
        'it resumes) or data_root is wrong')


def read_rgb(path: str) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB."""
    img = imread_rgb(path)
    if img is None:
        if not osp.isfile(path):
            raise _missing(path, 'frame')
        raise OSError(f'{path}: not a readable image (corrupt?)')
    return img


def read_labels(path: str) -> np.ndarray:
    """``(H, W)`` uint8 parsing labels."""
    labels = imread_labels(path)
    if labels is None:
        if not osp.isfile(path):
            raise _missing(path, 'parsing map')
        raise OSError(f'{path}: not a readable label map (corrupt?)')
    if labels.ndim != 2:
        raise ValueError(f'{path}: a parsing map must have one channel, found {labels.shape}')
    return labels


def read_landmarks(info: dict, key: str = 'landmarks') -> Optional[np.ndarray]:
    """``(68, 2)`` float32 landmarks of an index entry (``key='landmarks_mirrored'``: the
    reading of the mirrored frame), or None."""
    lm = info.get(key)
    return None if lm is None else np.asarray(lm, dtype=np.float32)


def to_image_tensor(img: np.ndarray):
    """``(H, W, 3)`` uint8 -> ``(3, H, W)`` uint8 tensor (``(K, H, W, 3)`` -> ``(K, 3, H, W)``)."""
    import cv2
    import torch
    arr = np.asarray(img)
    if arr.dtype == np.uint8 and arr.ndim in (3, 4) and arr.shape[-1] == 3:
        # OpenCV's split into planes: ~7x faster than numpy's transposing copy
        planar = [np.stack(cv2.split(np.ascontiguousarray(a))) for a in arr.reshape(
            -1, *arr.shape[-3:])]
        return torch.from_numpy(np.stack(planar).reshape(*arr.shape[:-3], 3, *arr.shape[-3:-1]))
    return torch.from_numpy(np.moveaxis(arr, -1, -3).copy())


def to_label_tensor(labels: np.ndarray):
    """``(H, W)`` uint8 -> ``(1, H, W)`` long tensor."""
    import torch
    return torch.from_numpy(np.ascontiguousarray(labels)).long()[None]
