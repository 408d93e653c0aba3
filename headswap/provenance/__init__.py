"""Provenance of headswap outputs: every swap is detectably synthetic.

Two independent marks: metadata (XMP / PNG text / EXIF / MP4 tags, and C2PA Content Credentials
when ``c2pa-python`` is installed) that says the file is synthetic and made by headswap, and an
invisible watermark in the pixels that survives re-compression and resizing (metadata is
stripped by most platforms; the watermark is not). See ``api.py`` for the functions the
inferencer calls and ``docs/en/provenance.md`` for the design and measurements.
"""
from .api import (detect_watermark, detect_watermark_detailed, get_watermarker, load_rgb,
                  mark_frames, mark_image, media_kind, read_provenance)
from .image_io import write_image
from .info import DIGITAL_SOURCE_TYPE, Provenance
from .video_io import VideoWriter, iter_video_frames, open_video_writer, tag_video
from .watermark import SpreadSpectrumWatermark, WatermarkResult

__all__ = [
    'Provenance', 'DIGITAL_SOURCE_TYPE', 'SpreadSpectrumWatermark', 'WatermarkResult',
    'get_watermarker', 'mark_image', 'mark_frames', 'write_image', 'open_video_writer',
    'VideoWriter', 'tag_video', 'read_provenance', 'detect_watermark',
    'detect_watermark_detailed', 'iter_video_frames', 'load_rgb', 'media_kind'
]
