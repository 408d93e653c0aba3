"""Resizing feature maps and spatial conditions to another grid."""
from typing import Sequence, Union

import torch
import torch.nn.functional as F

__all__ = ['resize_maps']


def resize_maps(x: torch.Tensor, size: Union[int, Sequence[int]]) -> torch.Tensor:
    """``(B, C, H, W)`` -> ``(B, C, h, w)``: area-averaged down (every input pixel counts,
    so thin peaks and small parts survive), bilinear up (``align_corners=False``)."""
    size = (size, size) if isinstance(size, int) else tuple(size)
    if tuple(x.shape[-2:]) == size:
        return x
    if x.shape[-1] > size[1]:
        return F.adaptive_avg_pool2d(x, size)
    return F.interpolate(x, size=size, mode='bilinear', align_corners=False)
