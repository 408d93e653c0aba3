from .head_color_shift import ShiftHeadColor
from .head_mask_perturbation import PerturbHeadMask
from .head_over_scene import ComposeHeadOverScene

__all__ = ['ComposeHeadOverScene', 'PerturbHeadMask', 'ShiftHeadColor']
