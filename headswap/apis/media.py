"""What users give the inferencer: an image, a video or a folder of images.

The readers themselves (:func:`read_image`, :class:`VideoReader`) live in
:mod:`headswap.utils.media_io`, shared with data preparation, the datasets and provenance;
they are re-exported here for the old import path.
"""
import os
import os.path as osp
from typing import List

from headswap.errors import UserError
from headswap.utils.media_io import (IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, DecodeEnd, VideoReader,
                                     media_kind, read_image)

__all__ = ['IMAGE_EXTENSIONS', 'VIDEO_EXTENSIONS', 'read_image', 'input_kind', 'list_images',
           'VideoReader', 'DecodeEnd']


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
