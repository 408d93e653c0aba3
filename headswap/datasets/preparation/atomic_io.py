"""Writing files so that a killed run never leaves a half-written one behind."""
import json
import os
import os.path as osp
import tempfile
from typing import Any

import numpy as np

__all__ = [
    'atomic_write_bytes', 'atomic_write_json', 'atomic_write_image', 'file_mode', 'read_json',
    'remove_stale_tmp'
]


def file_mode() -> int:
    """The mode ``open(path, 'w')`` would give a new file: ``0o666`` less the umask."""
    # reading the umask means setting it: put it straight back (the strictest value in
    # between, so a file another thread creates meanwhile is never more open than asked)
    mask = os.umask(0o077)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``."""
    folder = osp.dirname(path) or '.'
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.tmp-', dir=folder)
    try:
        os.fchmod(fd, file_mode())  # mkstemp makes 0600 files; others may share the dataset
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.unlink(tmp)
        raise


def remove_stale_tmp(folder: str) -> int:
    """Delete temporary files a killed writer left in ``folder``; returns how many."""
    if not osp.isdir(folder):
        return 0
    stale = [f for f in os.listdir(folder) if f.startswith('.tmp-')]
    for name in stale:
        os.unlink(osp.join(folder, name))
    return len(stale)


def atomic_write_json(path: str, obj: Any) -> None:
    """JSON with a fixed layout (same object -> same bytes)."""
    atomic_write_bytes(path, json.dumps(obj, ensure_ascii=False, indent=1).encode('utf-8'))


def atomic_write_image(path: str, img: np.ndarray, jpeg_quality: int = 95) -> None:
    """``(H, W, 3)`` RGB or ``(H, W)`` label map; format from the extension (.jpg / .png)."""
    import cv2
    arr = img[..., ::-1] if img.ndim == 3 else img
    ext = osp.splitext(path)[1].lower()
    params = [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality] if ext in ('.jpg', '.jpeg') else \
        [cv2.IMWRITE_PNG_COMPRESSION, 3]
    ok, buf = cv2.imencode(ext, np.ascontiguousarray(arr), params)
    if not ok:
        raise OSError(f'{path}: could not encode the image')
    atomic_write_bytes(path, buf.tobytes())


def read_json(path: str) -> Any:
    with open(path, 'r', encoding='utf-8') as f:
        return json.load(f)
