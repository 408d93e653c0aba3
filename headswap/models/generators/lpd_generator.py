from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from headswap.registry import MODELS
from ..layers import apply_spectral_norm, resize_maps

__all__ = ['LPDGenerator']


class AdaptiveInstanceNorm(nn.Module):
    """Instance norm with per-sample scale and shift given at call time.

    Shapes: ``x (B, C, H, W)``, ``params (B, 2C)`` = ``[gamma, beta]`` ->
    ``x_norm * (1 + gamma) + beta``.
    """

    def __init__(self, num_features: int, eps: float = 1e-5):
        super().__init__()
        self.num_features = num_features
        self.eps = eps

    @property
    def num_params(self) -> int:
        return 2 * self.num_features

    def forward(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        gamma, beta = params.to(x.dtype)[:, :, None, None].chunk(2, dim=1)
        var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=0)
        scale = (1 + gamma) * torch.rsqrt(var + self.eps)
        # one pass over x: x * scale + (beta - mean * scale)
        return torch.addcmul(beta - mean * scale, x, scale)


class AdaINResBlock(nn.Module):
    """LPD's pre-activation residual block: (AdaIN, ReLU, [up], conv3x3) x 2 + shortcut.

    The shortcut is a 1x1 conv when the width changes or the block upsamples;
    it is applied before the nearest-neighbour upsampling (the two commute,
    and this order costs 4x less).
    """

    def __init__(self, in_channels: int, out_channels: int, upsample: bool):
        super().__init__()
        self.upsample = upsample
        self.norm1 = AdaptiveInstanceNorm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, 1, 1, bias=False)
        self.norm2 = AdaptiveInstanceNorm(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.shortcut = (nn.Conv2d(in_channels, out_channels, 1)
                         if in_channels != out_channels or upsample else None)

    @property
    def num_params(self) -> int:
        return self.norm1.num_params + self.norm2.num_params

    def _up(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2.0, mode='nearest') if self.upsample else x

    def forward(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        p1, p2 = params.split([self.norm1.num_params, self.norm2.num_params], dim=1)
        h = self.conv1(self._up(F.relu(self.norm1(x, p1))))
        h = self.conv2(F.relu(self.norm2(h, p2)))
        skip = x if self.shortcut is None else self.shortcut(x)
        return h + self._up(skip)


@MODELS.register_module()
class LPDGenerator(nn.Module):
    """LPD generator (Burkov et al. 2020) extended to 512x512, with a head mask.

    A learned constant ``(channels[0], const_size, const_size)`` goes through
    ``num_res_blocks`` AdaIN residual blocks at that size, then one AdaIN
    upsampling residual block per further entry of ``channels`` (each doubles
    the side), then AdaIN, ReLU and a 3x3 conv to RGB (tanh) and a head mask
    (sigmoid). The AdaIN parameters of all blocks come from one vector
    (:class:`AdaINMLP`), split in block order.

    LPD's 256-pixel generator has widths ``(512, 512, 512, 512, 256, 128,
    64)`` from 4 to 256 pixels; the supplement adds upsampling blocks to reach
    512, here one more block of width 32 (``channels`` of the paper config).
    Design decisions: AdaIN scales are ``1 + gamma`` (stable start), and the
    learned constant starts from a normal draw.

    Args:
        channels: Width at each resolution, from ``const_size`` upwards.
        const_size: Side of the learned constant.
        num_res_blocks: Non-upsampling blocks at the constant's resolution.
        out_resolution: Expected output side, checked against
            ``const_size * 2 ** (len(channels) - 1)``.
        spectral_norm: Spectral-normalise every conv (as LPD and the paper).
        cond_channels: Channels of a spatial condition (e.g. driver landmark heat
            maps, :class:`LandmarkHeatmap`) added, through a 3x3 conv per block, to
            the input of every block whose side is in ``[8, cond_max_size]``; 0
            (the paper): none. Not in the paper (see docs/en/stage1_learning.md);
            the injection convs are not spectral-normalised.
        cond_max_size: Largest block side that gets the condition.

    Shapes: ``(B, num_adain_params)`` [and ``cond (B, cond_channels, h, w)``] ->
    RGB ``(B, 3, R, R)`` in [-1, 1] and mask ``(B, 1, R, R)`` in [0, 1].
    """

    def __init__(self, channels: Sequence[int] = (512, 512, 512, 512, 256, 128, 64, 32),
                 const_size: int = 4, num_res_blocks: int = 2, out_resolution: int = 512,
                 spectral_norm: bool = True, cond_channels: int = 0,
                 cond_max_size: int = 128):
        super().__init__()
        channels = [int(c) for c in channels]
        resolution = const_size * 2**(len(channels) - 1)
        if resolution != out_resolution:
            raise ValueError(f'LPDGenerator: {len(channels)} widths from a {const_size}-pixel '
                             f'constant give {resolution}-pixel images, but out_resolution is '
                             f'{out_resolution}; add or remove entries of `channels`')
        self.out_resolution = out_resolution
        self.const = nn.Parameter(torch.randn(1, channels[0], const_size, const_size))
        blocks: List[AdaINResBlock] = [AdaINResBlock(channels[0], channels[0], False)
                                       for _ in range(num_res_blocks)]
        blocks += [AdaINResBlock(c_in, c_out, True)
                   for c_in, c_out in zip(channels[:-1], channels[1:])]
        self.blocks = nn.ModuleList(blocks)
        self.out_norm = AdaptiveInstanceNorm(channels[-1])
        self.out_conv = nn.Conv2d(channels[-1], 4, 3, 1, 1)
        self._splits = [b.num_params for b in self.blocks] + [self.out_norm.num_params]
        if spectral_norm:
            apply_spectral_norm(self)
        # block i's input side: the constant's for the first num_res_blocks, then doubling
        sides = [const_size] * num_res_blocks + [const_size * 2**j
                                                 for j in range(len(channels) - 1)]
        self.cond_channels = int(cond_channels)
        self.cond_convs = nn.ModuleDict({
            str(i): nn.Conv2d(self.cond_channels, block.conv1.in_channels, 3, 1, 1)
            for i, (block, side) in enumerate(zip(self.blocks, sides))
            if self.cond_channels and 8 <= side <= cond_max_size})

    @property
    def num_adain_params(self) -> int:
        """Length of the AdaIN parameter vector the generator takes."""
        return sum(self._splits)

    def forward(self, adain_params: torch.Tensor, cond: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        if adain_params.dim() != 2 or adain_params.shape[1] != self.num_adain_params:
            raise ValueError(f'LPDGenerator expects (B, {self.num_adain_params}) AdaIN '
                             f'parameters, got {tuple(adain_params.shape)}')
        if self.cond_channels and (cond is None or cond.dim() != 4
                                   or cond.shape[1] != self.cond_channels):
            got = None if cond is None else tuple(cond.shape)
            raise ValueError(f'this LPDGenerator is conditioned (cond_channels='
                             f'{self.cond_channels}): pass cond (B, {self.cond_channels}, h, w), '
                             f'got {got}')
        params = adain_params.split(self._splits, dim=1)
        x = self.const.expand(adain_params.shape[0], -1, -1, -1)
        for i, (block, p) in enumerate(zip(self.blocks, params)):
            if str(i) in self.cond_convs:
                x = x + self.cond_convs[str(i)](resize_maps(cond.to(x.dtype), x.shape[-2:]))
            x = block(x, p)
        out = self.out_conv(F.relu(self.out_norm(x, params[-1])))
        return torch.tanh(out[:, :3]), torch.sigmoid(out[:, 3:])
