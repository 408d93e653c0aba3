"""Reading images and videos, for every part of headswap that does.

One home for media input: the inferencer (user photos and videos), data preparation
(clips and image folders), the datasets (prepared frames) and provenance (the
watermark detector) all read here.

* :data:`IMAGE_EXTENSIONS`, :data:`VIDEO_EXTENSIONS`, :func:`media_kind`: what a file is.
  The extension decides; a file with an unknown extension is an image if PIL can open it,
  else a video (PyAV then names what is wrong with it).
* :func:`read_image`: any photo -> ``(H, W, 3)`` uint8 RGB. EXIF orientation is applied,
  grayscale is replicated to RGB, transparency is flattened onto white, 16-bit and float
  images are scaled to 8 bits, CMYK is converted, and images of any size (also > 8K) are
  read.
* :func:`imread_rgb`: the fast path for frames headswap wrote itself (8-bit RGB): OpenCV,
  ``None`` when unreadable so that the caller names the problem.
* :func:`decode_video`: the one frame loop over a PyAV container (threaded decoding,
  stride, a frame limit); a decode failure part-way raises :class:`VideoDecodeError`
  after the frames that did decode.
* :class:`VideoReader`: frames with their indices, the exact frame rate, the expected frame
  count, and a decode error (truncated / corrupt file) reported *after* the frames that did
  decode, so they can still be processed and written.
"""
import fractions
import os.path as osp
from dataclasses import dataclass
from typing import Generator, Iterator, Optional, Tuple

import numpy as np

from headswap.errors import UserError

__all__ = ['IMAGE_EXTENSIONS', 'VIDEO_EXTENSIONS', 'media_kind', 'read_image', 'imread_rgb',
           'imread_labels', 'decode_video', 'VideoDecodeError', 'av_reason', 'VideoReader',
           'DecodeEnd']

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


def imread_rgb(path: str) -> Optional[np.ndarray]:
    """``(H, W, 3)`` uint8 RGB of an 8-bit image file (OpenCV), or None if unreadable."""
    import cv2
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    return None if img is None else np.ascontiguousarray(img[..., ::-1])


def imread_labels(path: str) -> Optional[np.ndarray]:
    """A label map (parsing, masks) as stored, every channel and bit depth kept (OpenCV,
    ``IMREAD_UNCHANGED``), or None if unreadable."""
    import cv2
    return cv2.imread(path, cv2.IMREAD_UNCHANGED)


def _orientation(path: str) -> int:
    """EXIF orientation (1-8) of an image file; 1 when absent or unreadable.

    PIL only parses the header here (the pixels come from OpenCV); its size guard
    refuses images above ~179 MP, whose orientation is then taken as 1.
    """
    import warnings

    from PIL import Image
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            with Image.open(path) as im:
                return int(im.getexif().get(0x0112, 1) or 1)
    except Exception:  # no EXIF we could read: as stored
        return 1


def _apply_orientation(img: np.ndarray, orientation: int) -> np.ndarray:
    """Undo an EXIF orientation (the stored pixels -> the image as displayed)."""
    ops = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
           5: lambda a: np.swapaxes(a, 0, 1), 6: lambda a: np.swapaxes(a, 0, 1)[:, ::-1],
           7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1], 8: lambda a: np.swapaxes(a, 0, 1)[::-1]}
    op = ops.get(orientation)
    return img if op is None else np.ascontiguousarray(op(img))


def read_image(path: str) -> np.ndarray:
    """Any photo -> ``(H, W, 3)`` uint8 RGB (see the module docstring).

    Raises:
        UserError: The file is missing or not a readable image (naming it).
    """
    import cv2
    if not osp.isfile(path):
        raise UserError(f'{path}: no such image file')
    data = np.fromfile(path, np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION) \
        if data.size else None
    if img is None:
        raise UserError(f'{path}: not a readable image (corrupt, or a format OpenCV cannot '
                        'decode); convert it to PNG or JPEG')
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    # bit depth -> 8 bits
    if img.dtype == np.uint16:
        img = (img.astype(np.uint32) * 255 + 32767) // 65535
    elif img.dtype.kind == 'f':
        scale = 255.0 if np.nanmax(img) <= 1.0 + 1e-6 else 1.0
        img = np.nan_to_num(img.astype(np.float64) * scale)
    elif img.dtype != np.uint8:
        raise UserError(f'{path}: unsupported pixel type {img.dtype}; save it as 8- or 16-bit')
    img = np.clip(img, 0, 255).astype(np.uint8) if img.dtype != np.uint8 else img
    if img.ndim == 2:
        rgb = np.repeat(img[..., None], 3, axis=2)
    elif img.shape[2] == 4:  # BGRA: flatten onto white
        alpha = img[..., 3:].astype(np.float32) / 255.0
        bgr = img[..., :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        rgb = np.round(bgr[..., ::-1]).astype(np.uint8)
    elif img.shape[2] == 3:
        rgb = img[..., ::-1]
    else:
        raise UserError(f'{path}: {img.shape[2]} colour channels; expected grey, RGB or RGBA')
    return _apply_orientation(np.ascontiguousarray(rgb), _orientation(path))


class VideoDecodeError(Exception):
    """Decoding stopped part-way; ``frames`` frames were decoded before it (``reason``)."""

    def __init__(self, frames: int, reason: str):
        super().__init__(reason)
        self.frames, self.reason = frames, reason


def av_reason(e: Exception) -> str:
    """The short reason of a PyAV / FFmpeg error (without the file name it repeats)."""
    msg = getattr(e, 'strerror', None) or str(e)
    return str(msg).split(": '")[0].strip()


def decode_video(container, stride: int = 1,
                 max_frames: int = 0) -> Generator[Tuple[int, np.ndarray], None, int]:
    """Yield ``(index, (H, W, 3) uint8 RGB)`` of every ``stride``-th frame of ``container``.

    ``index`` is the frame's position in the decoded stream; at most ``max_frames`` frames
    are yielded (0: all). Returns the number of frames decoded (``yield from`` gets it).
    Raises :class:`VideoDecodeError` (with that number) when FFmpeg fails part-way, after
    the frames before it were yielded.
    """
    import av
    stream = container.streams.video[0]
    stream.thread_type = 'AUTO'
    index, count = -1, 0
    try:
        for frame in container.decode(stream):
            index += 1
            if index % stride:
                continue
            yield index, frame.to_ndarray(format='rgb24')
            count += 1
            if max_frames and count >= max_frames:
                break
    except av.error.FFmpegError as e:
        raise VideoDecodeError(index + 1, av_reason(e)) from None
    return index + 1


@dataclass
class DecodeEnd:
    """How a video stream ended: ``error`` is None for a clean end, else the reason."""
    frames: int
    error: Optional[str] = None


class VideoReader:
    """Decode a video's frames (PyAV, threaded decoding) with its exact frame rate.

    Iterating yields ``(index, (H, W, 3) uint8 RGB)``; afterwards :attr:`end` says
    whether the stream ended cleanly or why not (corrupt data, or fewer frames than
    the container announced: a truncated file). Opening a file that is not a video
    raises :class:`UserError` naming it.

    Args:
        path: The video file.
        stride: Yield every ``stride``-th frame (indices stay the decoded positions).
        max_frames: Stop after this many yielded frames (0: all).
    """

    def __init__(self, path: str, stride: int = 1, max_frames: int = 0):
        import av
        self.path, self.stride, self.max_frames = path, max(1, int(stride)), int(max_frames)
        if not osp.isfile(path):
            raise UserError(f'{path}: no such video file')
        if osp.getsize(path) == 0:
            raise UserError(f'{path}: empty file (0 bytes)')
        try:
            with av.open(path) as container:
                if not container.streams.video:
                    raise UserError(f'{path}: no video stream in this file')
                stream = container.streams.video[0]
                rate = stream.average_rate or stream.guessed_rate or stream.base_rate
                self.fps = fractions.Fraction(rate) if rate else fractions.Fraction(25)
                self.width, self.height = stream.codec_context.width, stream.codec_context.height
                self.expected_frames = int(stream.frames or 0)
                if not self.expected_frames and stream.duration and stream.time_base:
                    self.expected_frames = int(round(float(stream.duration * stream.time_base)
                                                     * float(self.fps)))
                self.has_audio = bool(container.streams.audio)
        except av.error.FFmpegError as e:
            raise UserError(f'{path}: not a readable video ({av_reason(e)})') from None
        self.end: Optional[DecodeEnd] = None

    @property
    def size(self) -> Tuple[int, int]:
        return self.width, self.height

    def __iter__(self) -> Iterator[Tuple[int, np.ndarray]]:
        import av
        decoded, error = 0, None
        try:
            with av.open(self.path) as container:
                decoded = yield from decode_video(container, self.stride, self.max_frames)
        except (VideoDecodeError, av.error.FFmpegError) as e:
            if isinstance(e, VideoDecodeError):
                decoded, reason = e.frames, e.reason
            else:
                reason = av_reason(e)
            error = (f'decoding stopped after {decoded} frames: the video is truncated or '
                     f'corrupt ({reason})')
        yielded = (decoded - 1) // self.stride + 1 if decoded else 0
        if error is None and self.max_frames and yielded >= self.max_frames:
            self.end = DecodeEnd(decoded)
            return
        if error is None and self.stride == 1 and self.expected_frames \
                and decoded < self.expected_frames - 1:
            error = (f'the video ended after {decoded} of the {self.expected_frames} frames its '
                     'header announces: the file is truncated')
        if error is None and decoded == 0:
            error = 'the video has no decodable frames (truncated or corrupt)'
        self.end = DecodeEnd(decoded, error)
