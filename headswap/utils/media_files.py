"""What kind of media a file is: one list of the extensions headswap reads, for every tool.

Image and video readers (the inferencer, data preparation, the watermark detector) use
:func:`media_kind`: the extension decides, and a file with an unknown extension is an image
if PIL can open it, else a video (PyAV then names what is wrong with it).
"""
import os.path as osp

__all__ = ['IMAGE_EXTENSIONS', 'VIDEO_EXTENSIONS', 'media_kind']

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg', '.mpeg', '.flv',
                    '.ts')


def media_kind(path: str) -> str:
    """``'image'`` or ``'video'`` for an existing file ``path``."""
    ext = osp.splitext(path)[1].lower()
    if ext in IMAGE_EXTENSIONS:
        return 'image'
    if ext in VIDEO_EXTENSIONS:
        return 'video'
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path):
            return 'image'
    except (UnidentifiedImageError, OSError):
        return 'video'
