"""ArcFace's IResNet with the key layout of insightface's ``arcface_torch`` backbones.

A state dict saved from ``arcface_torch/backbones/iresnet.py`` (the public
``backbone.pth`` files of ``ms1mv3_arcface_r50`` / ``r100`` and others) loads
into :class:`IResNet` key-for-key: ``conv1``, ``bn1``, ``prelu``,
``layer1..4.N.{bn1,conv1,bn2,prelu,conv2,bn3,downsample.0,downsample.1}``,
``bn2``, ``fc`` and ``features`` (the final BatchNorm1d).
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from headswap.registry import MODELS

__all__ = ['IResNet', 'IRESNET_DEPTHS']

IRESNET_DEPTHS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 14, 3), 100: (3, 13, 30, 3),
                  200: (6, 26, 60, 6)}


class IBasicBlock(nn.Module):
    """BN -> conv3x3 -> BN -> PReLU -> conv3x3(stride) -> BN, plus the shortcut."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inplanes, eps=1e-5)
        self.conv1 = nn.Conv2d(inplanes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes, eps=1e-5)
        self.prelu = nn.PReLU(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes, eps=1e-5)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(self.bn1(x))))))
        return out + (x if self.downsample is None else self.downsample(x))


@MODELS.register_module()
class IResNet(nn.Module):
    """ArcFace IResNet (insightface arcface_torch layout).

    Args:
        depth: 18, 34, 50, 100 or 200 (ignored when ``depths`` is given).
        depths: Blocks per stage, e.g. ``(1, 1, 1, 1)`` for tests.
        base_channels: Width of the stem and first stage (64; stages double).
        embedding_dim: Output size (512).
        input_size: Side of the input crop (112); the stride is 16, and the
            ``fc`` layer is sized for ``(input_size / 16) ** 2`` positions.

    Shapes: ``(N, 3, input_size, input_size)`` RGB in [-1, 1] (arcface_torch's
    ``(img / 255 - 0.5) / 0.5``) -> ``(N, embedding_dim)``, not normalised.
    """

    def __init__(self, depth: int = 100, depths: Optional[Sequence[int]] = None,
                 base_channels: int = 64, embedding_dim: int = 512, input_size: int = 112):
        super().__init__()
        if depths is None:
            if depth not in IRESNET_DEPTHS:
                raise ValueError(f'IResNet depth {depth} is not one of {sorted(IRESNET_DEPTHS)}')
            depths = IRESNET_DEPTHS[depth]
        if len(depths) != 4:
            raise ValueError(f'IResNet has 4 stages, got depths={list(depths)}')
        if input_size % 16:
            raise ValueError(f'IResNet input_size must be a multiple of 16, got {input_size}')
        self.input_size = input_size
        self.conv1 = nn.Conv2d(3, base_channels, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(base_channels, eps=1e-5)
        self.prelu = nn.PReLU(base_channels)
        inplanes = base_channels
        for i, n in enumerate(depths):
            planes = base_channels * 2**i
            downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, 2, bias=False),
                                       nn.BatchNorm2d(planes, eps=1e-5))
            blocks = [IBasicBlock(inplanes, planes, 2, downsample)]
            blocks += [IBasicBlock(planes, planes) for _ in range(1, n)]
            self.add_module(f'layer{i + 1}', nn.Sequential(*blocks))
            inplanes = planes
        self.bn2 = nn.BatchNorm2d(inplanes, eps=1e-5)
        self.dropout = nn.Dropout(p=0.0)
        spatial = (input_size // 16)**2
        self.fc = nn.Linear(inplanes * spatial, embedding_dim)
        self.features = nn.BatchNorm1d(embedding_dim, eps=1e-5)
        nn.init.ones_(self.features.weight)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0, 0.1)

    def forward(self, x: torch.Tensor, return_features: bool = False
                ) -> Union[torch.Tensor, Tuple[torch.Tensor, List[torch.Tensor]]]:
        """Embedding, and with ``return_features`` the outputs of ``layer1..4``."""
        if tuple(x.shape[-2:]) != (self.input_size, self.input_size):
            raise ValueError(f'IResNet expects {self.input_size}x{self.input_size} crops, '
                             f'got {tuple(x.shape[-2:])}')
        x = self.prelu(self.bn1(self.conv1(x)))
        feats = []
        for i in range(1, 5):
            x = getattr(self, f'layer{i}')(x)
            feats.append(x)
        x = self.fc(self.dropout(torch.flatten(self.bn2(x), 1)))
        x = self.features(x)
        return (x, feats) if return_features else x
