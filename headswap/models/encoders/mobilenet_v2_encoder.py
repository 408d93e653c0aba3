from typing import Optional, Sequence

import torch
import torch.nn as nn
from torchvision.models._utils import _make_divisible
from torchvision.models.mobilenetv2 import InvertedResidual
from torchvision.ops.misc import Conv2dNormActivation

from headswap.registry import MODELS
from headswap.utils.pretrained import load_pretrained
from ..layers import ImageNetInput, apply_spectral_norm, norm_2d_factory
from ..layers.norm import BN_STATISTICS
from ._kshot import encode_kshot

__all__ = ['MobileNetV2Encoder']

# torchvision's MobileNetV2 stages: expansion t, channels c, repeats n, stride s
_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
             (6, 160, 3, 2), (6, 320, 1, 1))


@MODELS.register_module()
class MobileNetV2Encoder(nn.Module):
    """MobileNetV2 image encoder -> one vector per image (E_pose, E_exp).

    ``features`` is built from torchvision's blocks exactly as
    ``torchvision.models.mobilenet_v2`` builds it (same module names), so the
    default arguments load its ImageNet state dict key-for-key
    (``classifier.*`` is ignored). A linear ``head`` maps the pooled feature to
    ``out_channels``. The pose and expression encoders are two instances; the
    aligner feeds them the identity-hiding-augmented driver.

    Args:
        out_channels: Embedding size (d3 = d4 = 256 in the paper).
        width_mult: torchvision's width multiplier.
        settings: ``(t, c, n, s)`` per stage; torchvision's by default.
        stem_channels: Stem width before ``width_mult`` (32 in torchvision).
        last_channels: Width of the last 1x1 conv before ``width_mult``
            (1280 in torchvision, which never shrinks it below 1280).
        input_size: Images are resized to this side first (None: as given).
        spectral_norm: Spectral-normalise every conv and linear layer.
        checkpoint: Optional torchvision ImageNet state dict (path or URL),
            loaded before spectral norm is applied. With ``norm_cfg`` GN the
            BatchNorm affine weights initialise the GroupNorm ones and the BN
            statistics are dropped.
        norm_cfg: ``dict(type='BN')`` (torchvision's layers) or ``dict(type='GN')``
            (:func:`headswap.models.layers.build_norm_2d`): GroupNorm keeps what
            tells two drivers apart at one sample per GPU.

    Shapes: ``(B, 3, H, W)`` or ``(B, K, 3, H, W)`` in [-1, 1] -> ``(B, out_channels)``.
    """

    def __init__(self, out_channels: int = 256, width_mult: float = 1.0,
                 settings: Sequence[Sequence[int]] = _SETTINGS, stem_channels: int = 32,
                 last_channels: int = 1280, input_size: Optional[int] = 256,
                 spectral_norm: bool = True, checkpoint: Optional[str] = None,
                 norm_cfg: dict = dict(type='BN')):
        super().__init__()
        self.out_channels = out_channels
        self.input = ImageNetInput(input_size)
        norm = norm_2d_factory(norm_cfg)
        in_ch = _make_divisible(stem_channels * width_mult, 8)
        last = _make_divisible(last_channels * max(1.0, width_mult), 8)
        layers = [Conv2dNormActivation(3, in_ch, stride=2, norm_layer=norm,
                                       activation_layer=nn.ReLU6)]
        for t, c, n, s in settings:
            out_ch = _make_divisible(c * width_mult, 8)
            for i in range(n):
                layers.append(InvertedResidual(in_ch, out_ch, s if i == 0 else 1, expand_ratio=t,
                                               norm_layer=norm))
                in_ch = out_ch
        layers.append(Conv2dNormActivation(in_ch, last, kernel_size=1, norm_layer=norm,
                                           activation_layer=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(last, out_channels)
        self._init_weights()
        if checkpoint is not None:
            load_pretrained(self, checkpoint, 'MobileNetV2 encoder', key_map=self._features_only)
        if spectral_norm:
            apply_spectral_norm(self)

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out')
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def _features_only(self, state: dict) -> dict:
        own = self.state_dict()
        state = {k: v for k, v in state.items() if not k.startswith('classifier.')
                 and (k in own or not k.endswith(BN_STATISTICS))}
        state.update({k: v for k, v in own.items() if k.startswith('head.')})
        return state

    def backbone_parameters(self) -> int:
        """Number of parameters without the projection head."""
        return sum(p.numel() for n, p in self.named_parameters() if not n.startswith('head.'))

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(self.input(x))
        return self.head(x.mean((2, 3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return encode_kshot(x, self._encode, type(self).__name__)
