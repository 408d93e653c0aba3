"""Reading prepared frames, shared by the loading transforms."""
import os.path as osp
from typing import Optional

import numpy as np

from headswap.utils.media_io import imread_labels, imread_rgb

__all__ = ['MIRRORED', 'LANDMARK_KEYS', 'read_rgb', 'read_labels', 'read_landmarks',
           'landmark_fields', 'stacked_landmark_fields', 'to_image_tensor', 'to_label_tensor']

#: suffix of the landmarks read on the mirrored frame (``FaceFlip`` swaps them in)
MIRRORED = '_mirrored'
#: an index entry's landmark fields: the frame's reading, and the mirrored frame's
LANDMARK_KEYS = ('landmarks', 'landmarks' + MIRRORED)


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


def landmark_fields(info: dict, prefix: str) -> dict:
    """``{prefix}_landmarks`` and ``{prefix}_landmarks_mirrored`` of one index entry, those
    it has."""
    fields = {f'{prefix}_{key}': read_landmarks(info, key) for key in LANDMARK_KEYS}
    return {k: v for k, v in fields.items() if v is not None}


def stacked_landmark_fields(infos: list, prefix: str) -> dict:
    """``(K, 68, 2)`` ``{prefix}_landmarks`` (and ``..._mirrored``) of K index entries, each
    field only where every entry has it."""
    fields = {}
    for key in LANDMARK_KEYS:
        lms = [read_landmarks(info, key) for info in infos]
        if all(x is not None for x in lms):
            fields[f'{prefix}_{key}'] = (
                np.stack(lms) if lms else np.zeros((0, 68, 2), np.float32))
    return fields


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
