from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule

from headswap.registry import MODELS

__all__ = ['FaceParsingBiSeNet']


class _AttentionRefinement(nn.Module):
    """3x3 conv, then channel attention from its global average (conv, BN, sigmoid)."""

    def __init__(self, in_channels: int, out_channels: int, norm_cfg: dict):
        super().__init__()
        self.conv = ConvModule(in_channels, out_channels, 3, padding=1, norm_cfg=norm_cfg)
        self.conv_atten = nn.Conv2d(out_channels, out_channels, 1, bias=False)
        self.bn_atten = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv(x)
        atten = torch.sigmoid(self.bn_atten(self.conv_atten(F.adaptive_avg_pool2d(feat, 1))))
        return feat * atten


class _FeatureFusion(nn.Module):
    """Concat, 1x1 conv, then squeeze-excitation attention added back (``x + x * a``)."""

    def __init__(self, in_channels: int, out_channels: int, norm_cfg: dict):
        super().__init__()
        self.convblk = ConvModule(in_channels, out_channels, 1, norm_cfg=norm_cfg)
        self.conv1 = nn.Conv2d(out_channels, out_channels // 4, 1, bias=False)
        self.conv2 = nn.Conv2d(out_channels // 4, out_channels, 1, bias=False)

    def forward(self, spatial: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        feat = self.convblk(torch.cat([spatial, context], dim=1))
        atten = torch.sigmoid(self.conv2(F.relu(self.conv1(F.adaptive_avg_pool2d(feat, 1)))))
        return feat + feat * atten


@MODELS.register_module()
class FaceParsingBiSeNet(BaseModule):
    """The BiSeNet variant of the public face-parsing model, as an mmseg backbone.

    ResNet-18 context path with attention refinement at 1/16 and 1/32, whose
    1/8 feature replaces BiSeNet's spatial path, fused at 1/8. This is the
    architecture of zllrunning/face-parsing.PyTorch (CelebAMask-HQ, 19
    classes); its ``79999_iter.pth`` converts with
    ``tools/model_converters/face_parsing_bisenet_to_mmseg.py``. mmseg's
    ``BiSeNetV1`` cannot load it: it has a separate spatial path and a fusion
    module without the channel squeeze.

    Use inside ``mmseg.EncoderDecoder`` with ``mmseg.FCNHead`` heads
    (``num_convs=1``, ``concat_input=False``, ``align_corners=True``): the
    decode head on output 0 (256 channels), auxiliary heads on outputs 1 and 2
    (128 channels each).

    Args:
        norm_cfg: Normalisation of all layers.
        resnet_init_cfg: ``init_cfg`` of the ResNet-18 (e.g. ImageNet weights
            for training from scratch), or None.

    Shapes: ``(B, 3, H, W)`` -> ``(B, 256, H/8, W/8)``, ``(B, 128, H/8, W/8)``,
    ``(B, 128, H/16, W/16)``.
    """

    def __init__(self, norm_cfg: dict = dict(type='BN', requires_grad=True),
                 resnet_init_cfg: Optional[dict] = None, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        from mmseg.models.backbones import ResNet
        self.resnet = ResNet(depth=18, out_indices=(1, 2, 3), norm_cfg=norm_cfg,
                             style='pytorch', init_cfg=resnet_init_cfg)
        self.arm16 = _AttentionRefinement(256, 128, norm_cfg)
        self.arm32 = _AttentionRefinement(512, 128, norm_cfg)
        self.conv_head32 = ConvModule(128, 128, 3, padding=1, norm_cfg=norm_cfg)
        self.conv_head16 = ConvModule(128, 128, 3, padding=1, norm_cfg=norm_cfg)
        self.conv_avg = ConvModule(512, 128, 1, norm_cfg=norm_cfg)
        self.ffm = _FeatureFusion(256, 256, norm_cfg)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        feat8, feat16, feat32 = self.resnet(x)
        avg = self.conv_avg(F.adaptive_avg_pool2d(feat32, 1))
        up32 = F.interpolate(self.arm32(feat32) + avg, size=feat16.shape[2:], mode='nearest')
        up32 = self.conv_head32(up32)
        up16 = F.interpolate(self.arm16(feat16) + up32, size=feat8.shape[2:], mode='nearest')
        up16 = self.conv_head16(up16)
        return self.ffm(feat8, up16), up16, up32
