from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule

from headswap.registry import MODELS

__all__ = ['MaskConditionedDiscriminator']


@MODELS.register_module()
class MaskConditionedDiscriminator(nn.Module):
    """D_B of the Head2Scene Blender (supplement eqs. 10-11).

    A multi-scale patch discriminator that sees the image concatenated along
    channels with the head mask M^H_A and the inpainting mask M^I_A. Every
    convolution has spectral norm; no normalisation layers.

    Args:
        in_channels: Image channels.
        num_masks: Condition channels concatenated to the image.
        base_channels: Width of the first layer; doubles per layer.
        max_channels: Cap on the width.
        num_layers: Stride-2 layers per scale.
        num_scales: Discriminators on the image downsampled 1x, 2x, ...

    Shapes: ``(B, in_channels, H, W)`` and ``(B, num_masks, H, W)`` -> list of
    ``num_scales`` patch logit maps ``(B, 1, h_s, w_s)``.
    """

    def __init__(self, in_channels: int = 3, num_masks: int = 2, base_channels: int = 64,
                 max_channels: int = 512, num_layers: int = 4, num_scales: int = 2):
        super().__init__()
        self.num_masks = num_masks
        self.scales = nn.ModuleList(
            [self._patch_discriminator(in_channels + num_masks, base_channels, max_channels,
                                       num_layers) for _ in range(num_scales)])

    @staticmethod
    def _patch_discriminator(in_ch: int, base: int, cap: int, num_layers: int) -> nn.Sequential:
        act = dict(type='LeakyReLU', negative_slope=0.2)
        layers, ch = [], in_ch
        for i in range(num_layers):
            out = min(base * 2 ** i, cap)
            layers.append(ConvModule(ch, out, 4, stride=2, padding=1, act_cfg=act,
                                     inplace=False, with_spectral_norm=True))
            ch = out
        layers.append(ConvModule(ch, min(ch * 2, cap), 3, padding=1, act_cfg=act, inplace=False,
                                 with_spectral_norm=True))
        layers.append(ConvModule(min(ch * 2, cap), 1, 3, padding=1, act_cfg=None,
                                 with_spectral_norm=True))
        return nn.Sequential(*layers)

    def forward(self, img: torch.Tensor, masks: torch.Tensor) -> List[torch.Tensor]:
        if masks.shape[1] != self.num_masks or masks.shape[-2:] != img.shape[-2:]:
            raise ValueError(f'expected masks (B, {self.num_masks}, {img.shape[-2]}, '
                             f'{img.shape[-1]}), got {tuple(masks.shape)}')
        x = torch.cat([img, masks.to(img.dtype)], 1)
        logits = []
        for i, disc in enumerate(self.scales):
            if i:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            logits.append(disc(x))
        return logits
