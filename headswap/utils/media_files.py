"""Old import path of :data:`IMAGE_EXTENSIONS`, :data:`VIDEO_EXTENSIONS` and :func:`media_kind`.

They live in :mod:`headswap.utils.media_io` with the readers.
"""
from .media_io import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, media_kind

__all__ = ['IMAGE_EXTENSIONS', 'VIDEO_EXTENSIONS', 'media_kind']
