"""Small building blocks shared by several networks."""
from .ema import ForeachExponentialMovingAverage
from .image_input import ImageNetInput
from .norm import build_norm_2d, norm_2d_factory
from .resize import resize_maps
from .running_standardization import RunningStandardization
from .spectral_norm import apply_spectral_norm, warm_up_spectral_norm

__all__ = [
    'ForeachExponentialMovingAverage', 'ImageNetInput', 'RunningStandardization',
    'apply_spectral_norm', 'build_norm_2d', 'norm_2d_factory', 'resize_maps',
    'warm_up_spectral_norm'
]
