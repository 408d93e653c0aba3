"""Input adapter of the trainable encoders: resize and ImageNet normalisation."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ['ImageNetInput']

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageNetInput(nn.Module):
    """Map images in ``input_range`` to ImageNet statistics at ``size`` pixels.

    The encoders may start from torchvision ImageNet weights, which expect
    this normalisation; resizing lets a 512-pixel model run its global
    encoders at a lower resolution (their outputs are vectors).

    Args:
        size: Side of the square the images are resized to (bilinear,
            antialiased), or None to keep the input size.
        input_range: ``(low, high)`` value range of the input images.

    Shapes: ``(N, 3, H, W)`` -> ``(N, 3, size, size)``.
    """

    def __init__(self, size: Optional[int] = None, input_range: Sequence[float] = (-1., 1.)):
        super().__init__()
        self.size = size
        self.input_range = (float(input_range[0]), float(input_range[1]))
        self.register_buffer('mean', torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), False)
        self.register_buffer('std', torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.size is not None and tuple(x.shape[-2:]) != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode='bilinear',
                              align_corners=False, antialias=True)
        low, high = self.input_range
        x = (x - low) / (high - low)
        return (x - self.mean) / self.std
