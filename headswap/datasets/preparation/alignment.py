"""Old import path of the alignment templates and transforms:
:mod:`headswap.face.alignment`."""
from headswap.face.alignment import (DEFAULT_CROP_SCALE, TIGHT_TEMPLATE, five_points,
                                     similarity_transform, smooth_points, template_points,
                                     transform_points)

__all__ = ['DEFAULT_CROP_SCALE', 'five_points', 'similarity_transform', 'smooth_points',
           'template_points', 'TIGHT_TEMPLATE', 'transform_points']
