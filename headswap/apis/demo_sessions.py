"""What a shared front end (the web demo) needs besides the model: a private folder per user
session, removed when the session ends, and limits on what users upload."""
import hashlib
import os
import os.path as osp
import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass
from typing import Dict, Optional

from headswap.errors import UserError
from .media import VideoReader, input_kind

__all__ = ['UploadLimits', 'check_upload', 'SessionFolders']


@dataclass
class UploadLimits:
    """Largest file (MB), image (megapixels) and video (seconds) a user may give."""
    max_file_mb: float = 50.0
    max_megapixels: float = 40.0
    max_video_seconds: float = 30.0


def check_upload(path: str, limits: UploadLimits, what: str = 'file',
                 allow_video: bool = True) -> str:
    """``'image'`` or ``'video'`` for an uploaded file within ``limits``; a one-line
    :class:`UserError` naming ``what`` otherwise (too large, unreadable, a video where only
    photos are taken). Reads headers only."""
    name = osp.basename(path)
    if not osp.isfile(path):
        raise UserError(f'{what} {name}: the upload is missing; upload it again')
    size_mb = osp.getsize(path) / 2**20
    if size_mb > limits.max_file_mb:
        raise UserError(f'{what} {name} is too large ({size_mb:.0f} MB; at most '
                        f'{limits.max_file_mb:g} MB)')
    kind = input_kind(path)
    if kind == 'image':
        import warnings

        from PIL import Image
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore', Image.DecompressionBombWarning)
                with Image.open(path) as im:
                    w, h = im.size
        except Exception:
            raise UserError(f'{what} {name}: not a readable image; use a PNG or JPEG photo') \
                from None
        if w * h > limits.max_megapixels * 1e6:
            raise UserError(f'{what} {name} is too large ({w}x{h}, {w * h / 1e6:.0f} '
                            f'megapixels; at most {limits.max_megapixels:g}): make it smaller')
        return kind
    if not allow_video:
        raise UserError(f'{what} {name}: not a photo (use PNG or JPEG images)')
    reader = VideoReader(path)
    seconds = reader.expected_frames / float(reader.fps) if reader.expected_frames else 0.0
    if seconds > limits.max_video_seconds:
        raise UserError(f'{what} {name} is too long ({seconds:.0f} s; the demo takes videos of '
                        f'at most {limits.max_video_seconds:g} s)')
    if reader.width * reader.height > limits.max_megapixels * 1e6:
        raise UserError(f'{what} {name} is too large ({reader.width}x{reader.height})')
    return kind


class SessionFolders:
    """One private folder per session id under ``root`` (a fresh temporary folder by
    default), holding that session's latest run only; :meth:`remove` when the session ends,
    :meth:`close` at shutdown. Folders are named by a hash of the id (ids come from browsers)."""

    def __init__(self, root: Optional[str] = None):
        self.root = root or tempfile.mkdtemp(prefix='headswap-web-')
        os.makedirs(self.root, exist_ok=True)
        self._lock = threading.Lock()
        self._folders: Dict[str, str] = {}

    def new_run(self, session: str) -> str:
        """An empty folder for one run of ``session``; its previous run's files are removed."""
        if not session:
            raise ValueError('a run needs a session id')
        with self._lock:
            folder = osp.join(self.root, hashlib.sha256(session.encode()).hexdigest()[:16])
            shutil.rmtree(folder, ignore_errors=True)
            run = osp.join(folder, uuid.uuid4().hex[:8])
            os.makedirs(run)
            self._folders[session] = folder
        return run

    def remove(self, session: Optional[str]) -> None:
        with self._lock:
            folder = self._folders.pop(session, None) if session else None
        if folder:
            shutil.rmtree(folder, ignore_errors=True)

    @property
    def active(self) -> int:
        return len(self._folders)

    def close(self) -> None:
        with self._lock:
            self._folders.clear()
        shutil.rmtree(self.root, ignore_errors=True)
