from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from headswap.registry import MODELS
from ..layers import apply_spectral_norm

__all__ = ['PatchDiscriminator']


class _PatchNet(nn.Module):
    """One scale: ``num_layers`` stride-2 4x4 convs + LeakyReLU, a stride-1 conv, logits."""

    def __init__(self, in_channels: int, base_channels: int, max_channels: int, num_layers: int):
        super().__init__()
        layers = []
        c_in, c_out = in_channels, base_channels
        for _ in range(num_layers):
            layers.append(nn.Sequential(nn.Conv2d(c_in, c_out, 4, 2, 1),
                                        nn.LeakyReLU(0.2, inplace=True)))
            c_in, c_out = c_out, min(c_out * 2, max_channels)
        layers.append(nn.Sequential(nn.Conv2d(c_in, c_out, 3, 1, 1),
                                    nn.LeakyReLU(0.2, inplace=True)))
        self.layers = nn.ModuleList(layers)
        self.logits = nn.Conv2d(c_out, 1, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        feats = []
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        return self.logits(x), feats


@MODELS.register_module()
class PatchDiscriminator(nn.Module):
    """Spectral-norm patch discriminator D_A, optionally multi-scale.

    Each scale is a PatchGAN (pix2pixHD layout, with spectral norm instead of
    normalisation layers); scale ``s`` sees the image average-pooled ``s``
    times. Returns the patch logits of every scale and the intermediate
    activations of every scale (for the feature-matching term of eq. 2).

    Args:
        in_channels: Image channels.
        base_channels: Width of the first conv (doubles per layer).
        max_channels: Width cap.
        num_layers: Stride-2 layers per scale.
        num_scales: Number of image scales.
        spectral_norm: Spectral-normalise every conv.

    Shapes: ``(B, C, H, W)`` -> (list over scales of ``(B, 1, h_s, w_s)``
    logits, flat list of ``num_scales * (num_layers + 1)`` feature maps).
    """

    def __init__(self, in_channels: int = 3, base_channels: int = 64, max_channels: int = 512,
                 num_layers: int = 4, num_scales: int = 2, spectral_norm: bool = True):
        super().__init__()
        if num_scales < 1 or num_layers < 1:
            raise ValueError('PatchDiscriminator needs num_scales >= 1 and num_layers >= 1')
        self.scales = nn.ModuleList(
            _PatchNet(in_channels, base_channels, max_channels, num_layers)
            for _ in range(num_scales))
        self.num_features = num_scales * (num_layers + 1)
        if spectral_norm:
            apply_spectral_norm(self)

    def forward(self, x: torch.Tensor) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
        logits, feats = [], []
        for i, net in enumerate(self.scales):
            if i > 0:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            out, f = net(x)
            logits.append(out)
            feats.extend(f)
        return logits, feats
