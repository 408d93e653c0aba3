"""Raw talking-head videos -> aligned 512x512 frames, parsing maps and index.json."""
from headswap.face.alignment import (DEFAULT_CROP_SCALE, TIGHT_TEMPLATE, five_points,
                                     similarity_transform, smooth_points, template_points,
                                     transform_points)
from .clip_processor import DEFAULT_SETTINGS, DROP_REASONS, ClipProcessor, blur_score
from .prepare import format_summary, merge_index, prepare_dataset, set_models_device, shard_path
from .sources import ClipSource, SourceError, discover_sources, iter_frames

__all__ = [
    'DEFAULT_CROP_SCALE', 'TIGHT_TEMPLATE', 'five_points', 'similarity_transform',
    'smooth_points', 'template_points', 'transform_points', 'DEFAULT_SETTINGS', 'DROP_REASONS',
    'ClipProcessor', 'blur_score', 'format_summary', 'merge_index', 'prepare_dataset',
    'shard_path', 'set_models_device', 'ClipSource', 'SourceError', 'discover_sources',
    'iter_frames'
]
