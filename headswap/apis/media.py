"""What users give the inferencer: an image, a video or a folder of images.

The readers themselves (:func:`read_image`, :class:`VideoReader`) live in
:mod:`headswap.utils.media_io`, shared with data preparation, the datasets and provenance;
they are re-exported here for the old import path.
"""
import os
import os.path as osp
from typing import List

import numpy as np

from headswap.errors import UserError
from headswap.utils.media_io import (IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, DecodeEnd, VideoReader,
                                     media_kind, read_image)

__all__ = ['IMAGE_EXTENSIONS', 'VIDEO_EXTENSIONS', 'read_image', 'input_kind', 'list_images',
           'check_rgb_array', 'VideoReader', 'DecodeEnd']


def input_kind(path: str) -> str:
    """``'folder'``, ``'image'`` or ``'video'``; a one-line error for a missing path."""
    if osp.isdir(path):
        return 'folder'
    if not osp.isfile(path):
        raise UserError(f'{path}: no such file or folder')
    return media_kind(path)


def list_images(folder: str) -> List[str]:
    """Image files of ``folder`` (not recursive, hidden files skipped), in name order."""
    names = sorted(n for n in os.listdir(folder)
                   if not n.startswith('.') and osp.splitext(n)[1].lower() in IMAGE_EXTENSIONS)
    return [osp.join(folder, n) for n in names]


def check_rgb_array(img: np.ndarray, what: str) -> np.ndarray:
    """``img`` if it is an ``(H, W, 3)`` uint8 RGB array, else a one-line error naming ``what``."""
    if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3 \
            or img.dtype != np.uint8:
        desc = f'{img.dtype} {img.shape}' if isinstance(img, np.ndarray) else type(img)
        raise UserError(f'{what}: arrays must be (H, W, 3) uint8 RGB, got {desc}')
    return img
