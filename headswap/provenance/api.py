"""The small API the inferencer and the tools call.

    mark_frames(frames)            (N, 3, H, W) uint8 tensor on any device -> marked, same device
    mark_image(rgb)                (H, W, 3) uint8 array -> marked array (CPU)
    write_image(path, rgb, prov)   marks (unless already_marked) + metadata (+ C2PA)
    open_video_writer(path, fps, (w, h), prov, audio_from=...)   same for video
    tag_video(path, prov)          metadata (+ C2PA) for a video written elsewhere
    read_provenance(path)          every provenance mark found in the file's metadata
    detect_watermark(x)            (detected, score) for a path, an RGB array or frames
"""
import os.path as osp
from typing import Any, Dict, Sequence, Tuple, Union

import numpy as np

from headswap.errors import UserError
from headswap.utils.media_io import media_kind as _media_kind
from headswap.utils.media_io import read_image
from .image_io import read_image_metadata
from .video_io import iter_video_frames, read_video_metadata
from .watermark import WatermarkResult, get_watermarker, mark_frames, mark_image

__all__ = ['get_watermarker', 'mark_image', 'mark_frames', 'detect_watermark',
           'detect_watermark_detailed', 'read_provenance']


def detect_watermark(source: Union[str, np.ndarray, Sequence[np.ndarray]],
                     max_frames: int = 120) -> Tuple[bool, float]:
    """(detected, z-score) for an image/video path, an RGB array or a list of frames."""
    result = detect_watermark_detailed(source, max_frames)
    return result.detected, result.score


def detect_watermark_detailed(source: Union[str, np.ndarray, Sequence[np.ndarray]],
                              max_frames: int = 120) -> WatermarkResult:
    """Like :func:`detect_watermark` but returns the full :class:`WatermarkResult`.

    Videos are decided over up to ``max_frames`` frames spread over the first 10 * max_frames.
    """
    wm = get_watermarker()
    if isinstance(source, np.ndarray):
        return wm.detect_image(source)
    if isinstance(source, (list, tuple)):
        return wm.detect_frames(source)[0]
    path = str(source)
    kind = media_kind(path)
    if kind == 'image':
        return wm.detect_image(load_rgb(path))
    frames = _spread_frames(path, max_frames)
    return wm.detect_frames(frames)[0]


def _spread_frames(path: str, max_frames: int):
    import av
    try:
        with av.open(path) as c:
            total = c.streams.video[0].frames if c.streams.video else 0
    except av.FFmpegError as exc:
        raise ValueError(f'cannot read video {path}: {exc}') from exc
    stride = max(1, min(10, total // max_frames)) if total else 1
    return iter_video_frames(path, max_frames=max_frames, stride=stride)


def media_kind(path: str) -> str:
    """'image' or 'video' from the suffix (then the content); errors name the file."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'no such file: {path}')
    return _media_kind(path)


def load_rgb(path: str) -> np.ndarray:
    """Read an image file as (H, W, 3) uint8 RGB (:func:`headswap.utils.media_io.read_image`:
    EXIF orientation, grey, 16-bit, alpha and CMYK handled); errors are ValueErrors."""
    try:
        return read_image(path)
    except UserError as exc:
        raise ValueError(f'cannot read image {path}: {exc}') from None


def read_provenance(path: str) -> Dict[str, Any]:
    """Every provenance mark in a file's metadata.

    Returns a dict with ``synthetic`` (True when any headswap/C2PA mark says so), ``fields``
    (merged headswap fields), ``sources`` (which containers held them) and ``c2pa`` (a summary of
    the C2PA manifest, or None).
    """
    from .c2pa_signer import read_c2pa
    from .info import DIGITAL_SOURCE_TYPE
    kind = media_kind(path)
    found = read_image_metadata(path) if kind == 'image' else read_video_metadata(path)
    c2pa = read_c2pa(path)
    fields: Dict[str, str] = {}
    for source in found.values():
        for key, value in source.items():
            fields.setdefault(key, value)
    if c2pa and c2pa.get('fields'):
        for key, value in c2pa['fields'].items():
            fields.setdefault(key, str(value))
    synthetic = (fields.get('synthetic') == 'true'
                 or fields.get('digital_source_type', '').endswith('AlgorithmicMedia')
                 or bool(c2pa and 'AlgorithmicMedia' in str(c2pa.get('digital_source_type'))))
    return {'path': path, 'kind': kind, 'synthetic': synthetic, 'fields': fields,
            'sources': sorted(found) + (['c2pa'] if c2pa else []), 'c2pa': c2pa,
            'watermark': fields.get('watermark'),
            'digital_source_type': fields.get('digital_source_type',
                                              DIGITAL_SOURCE_TYPE if synthetic else None)}
