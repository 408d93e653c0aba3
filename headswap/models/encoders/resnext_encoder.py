from typing import Optional, Sequence

import torch
import torch.nn as nn
from torchvision.models.resnet import Bottleneck, conv1x1

from headswap.registry import MODELS
from headswap.utils.pretrained import load_pretrained
from ..layers import ImageNetInput, apply_spectral_norm, norm_2d_factory
from ..layers.norm import BN_STATISTICS
from ._kshot import encode_kshot

__all__ = ['ResNeXtEncoder']


@MODELS.register_module()
class ResNeXtEncoder(nn.Module):
    """ResNeXt image encoder -> one vector per image, averaged over K shots (E_por).

    The backbone is assembled from torchvision's ``Bottleneck`` blocks with
    torchvision's module names, so ``depths=(3, 4, 6, 3), groups=32,
    width_per_group=4`` is exactly ``torchvision.models.resnext50_32x4d``
    without its classifier, and loads its ImageNet state dict key-for-key
    (``fc.*`` is ignored). A linear ``head`` maps the pooled 2048-d feature to
    ``out_channels``. Widths are configurable for tests.

    Args:
        out_channels: Embedding size (d1 = 512 in the paper).
        depths: Bottleneck blocks per stage.
        stem_channels: Width of the 7x7 stem.
        base_channels: ``planes`` of the first stage (doubles per stage; the
            block output is ``4 * planes``).
        groups: Cardinality of the grouped 3x3 convolutions.
        width_per_group: torchvision's ``width_per_group``.
        input_size: Images are resized to this side first (None: as given).
        spectral_norm: Spectral-normalise every conv and linear layer, as the
            supplement does for all operators.
        checkpoint: Optional torchvision ImageNet state dict (path or URL),
            loaded before spectral norm is applied. With ``norm_cfg`` GN the
            BatchNorm affine weights initialise the GroupNorm ones and the BN
            statistics are dropped.
        norm_cfg: ``dict(type='BN')`` (torchvision's layers) or ``dict(type='GN')``
            (:func:`headswap.models.layers.build_norm_2d`): GroupNorm keeps what
            tells two images apart at one sample per GPU.

    Shapes: ``(B, 3, H, W)`` or ``(B, K, 3, H, W)`` in [-1, 1] -> ``(B, out_channels)``.
    """

    def __init__(self, out_channels: int = 512, depths: Sequence[int] = (3, 4, 6, 3),
                 stem_channels: int = 64, base_channels: int = 64, groups: int = 32,
                 width_per_group: int = 4, input_size: Optional[int] = 256,
                 spectral_norm: bool = True, checkpoint: Optional[str] = None,
                 norm_cfg: dict = dict(type='BN')):
        super().__init__()
        self.out_channels = out_channels
        self.input = ImageNetInput(input_size)
        norm = norm_2d_factory(norm_cfg)
        self.conv1 = nn.Conv2d(3, stem_channels, 7, 2, 3, bias=False)
        self.bn1 = norm(stem_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes = stem_channels
        self.stage_names = []
        for i, depth in enumerate(depths):
            planes = base_channels * 2**i
            stride = 1 if i == 0 else 2
            downsample = None
            if stride != 1 or inplanes != planes * Bottleneck.expansion:
                downsample = nn.Sequential(conv1x1(inplanes, planes * Bottleneck.expansion, stride),
                                           norm(planes * Bottleneck.expansion))
            blocks = [Bottleneck(inplanes, planes, stride, downsample, groups, width_per_group,
                                 norm_layer=norm)]
            inplanes = planes * Bottleneck.expansion
            blocks += [Bottleneck(inplanes, planes, groups=groups, base_width=width_per_group,
                                  norm_layer=norm) for _ in range(1, depth)]
            name = f'layer{i + 1}'
            self.add_module(name, nn.Sequential(*blocks))
            self.stage_names.append(name)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(inplanes, out_channels)
        self._init_weights()
        if checkpoint is not None:
            load_pretrained(self, checkpoint, 'ResNeXt encoder', key_map=self._backbone_only)
        if spectral_norm:
            apply_spectral_norm(self)

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _backbone_only(self, state: dict) -> dict:
        """torchvision's state dict without ``fc`` (and without BN statistics for GN), plus
        our own (untouched) head."""
        own = self.state_dict()
        state = {k: v for k, v in state.items() if not k.startswith('fc.')
                 and (k in own or not k.endswith(BN_STATISTICS))}
        state.update({k: v for k, v in own.items() if k.startswith('head.')})
        return state

    def backbone_parameters(self) -> int:
        """Number of parameters without the projection head."""
        return sum(p.numel() for n, p in self.named_parameters() if not n.startswith('head.'))

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(self.input(x)))))
        for name in self.stage_names:
            x = getattr(self, name)(x)
        return self.head(torch.flatten(self.avgpool(x), 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return encode_kshot(x, self._encode, type(self).__name__)
