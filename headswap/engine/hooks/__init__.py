from .rng_state_hook import RNGStateHook
from .visualization_hook import ImageGridHook

__all__ = ['RNGStateHook', 'ImageGridHook']
