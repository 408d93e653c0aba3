from .head_color_shift import ShiftHeadColor
from .head_mask_perturbation import PerturbHeadMask

__all__ = ['PerturbHeadMask', 'ShiftHeadColor']
