from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule

from headswap.registry import MODELS

__all__ = ['BlendingUNet']


class _ResBlock(nn.Module):
    """Pre-activation residual block: ``x + conv(act(norm(conv(act(norm(x))))))``."""

    def __init__(self, channels: int, norm_cfg: Optional[dict], act_cfg: dict,
                 spectral_norm: bool):
        super().__init__()
        kw = dict(padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg, inplace=False,
                  with_spectral_norm=spectral_norm, order=('norm', 'act', 'conv'))
        self.conv1 = ConvModule(channels, channels, 3, **kw)
        self.conv2 = ConvModule(channels, channels, 3, **kw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.conv1(x))


@MODELS.register_module()
class BlendingUNet(nn.Module):
    """The blending network of the Head2Scene Blender: a residual U-Net.

    ``num_levels`` resolutions (seven in the paper: 512 -> 8 pixels); at each a
    stack of residual blocks, a strided convolution down, and on the way up a
    nearest upsampling + convolution, concatenation with the skip and residual
    blocks. The output is an image in ``[-1, 1]`` (tanh). Spectral norm on every
    convolution (supplement section 3.2).

    Args:
        in_channels: Input channels (the blender stacks A's head, the two
            exemplars, T's visible scene and the two masks: 14).
        out_channels: Output channels.
        base_channels: Width of the first level; doubles per level.
        max_channels: Cap on the width.
        num_levels: Number of resolutions; inputs must be divisible by
            ``2 ** (num_levels - 1)``.
        num_res_blocks: Residual blocks per level and side.
        norm_cfg: Normalisation of the blocks (mmcv config) or None.
        act_cfg: Activation (mmcv config).
        spectral_norm: Spectral norm on every convolution.

    Shapes: ``(B, in_channels, H, W)`` -> ``(B, out_channels, H, W)``.
    """

    def __init__(self, in_channels: int = 14, out_channels: int = 3, base_channels: int = 64,
                 max_channels: int = 512, num_levels: int = 7, num_res_blocks: int = 1,
                 norm_cfg: Optional[dict] = dict(type='IN', affine=True),
                 act_cfg: dict = dict(type='LeakyReLU', negative_slope=0.2),
                 spectral_norm: bool = True):
        super().__init__()
        if num_levels < 1:
            raise ValueError(f'num_levels must be >= 1, got {num_levels}')
        self.num_levels = num_levels
        widths = [min(base_channels * 2 ** i, max_channels) for i in range(num_levels)]
        conv = dict(act_cfg=act_cfg, inplace=False, with_spectral_norm=spectral_norm)

        def blocks(c: int) -> nn.Sequential:
            return nn.Sequential(*[_ResBlock(c, norm_cfg, act_cfg, spectral_norm)
                                   for _ in range(num_res_blocks)])

        self.stem = ConvModule(in_channels, widths[0], 3, padding=1, **conv)
        self.enc_blocks = nn.ModuleList([blocks(c) for c in widths])
        self.downs = nn.ModuleList([
            ConvModule(widths[i], widths[i + 1], 3, stride=2, padding=1, norm_cfg=norm_cfg, **conv)
            for i in range(num_levels - 1)])
        self.ups = nn.ModuleList([
            ConvModule(widths[i + 1], widths[i], 3, padding=1, norm_cfg=norm_cfg, **conv)
            for i in range(num_levels - 1)])
        self.fuses = nn.ModuleList([
            ConvModule(2 * widths[i], widths[i], 1, norm_cfg=norm_cfg, **conv)
            for i in range(num_levels - 1)])
        self.dec_blocks = nn.ModuleList([blocks(widths[i]) for i in range(num_levels - 1)])
        self.head = ConvModule(widths[0], out_channels, 3, padding=1, act_cfg=None,
                               with_spectral_norm=spectral_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        factor = 2 ** (self.num_levels - 1)
        if x.shape[-1] % factor or x.shape[-2] % factor:
            raise ValueError(f'BlendingUNet with {self.num_levels} levels needs H and W '
                             f'divisible by {factor}; got {tuple(x.shape[-2:])}')
        x = self.stem(x)
        skips: List[torch.Tensor] = []
        for i, block in enumerate(self.enc_blocks):
            x = block(x)
            if i < self.num_levels - 1:
                skips.append(x)
                x = self.downs[i](x)
        for i in reversed(range(self.num_levels - 1)):
            x = self.ups[i](F.interpolate(x, scale_factor=2, mode='nearest'))
            x = self.dec_blocks[i](self.fuses[i](torch.cat([x, skips[i]], 1)))
        return torch.tanh(self.head(x))
