from typing import Optional

import torch
import torch.nn.functional as F

from headswap.registry import MODELS
from headswap.utils.pretrained import FrozenModule, load_pretrained

__all__ = ['FIDInceptionV3']


def _fid_block(block_cls: type, pool: str) -> type:
    """An Inception block whose pooling branch pools as the TF FID graph does.

    torchvision's blocks average-pool with padding counted; the 2015 TF graph of
    FID excludes the padding (and the last block max-pools). The block's other
    branches are unchanged, its pooling branch (last output) is recomputed.
    """

    class FIDBlock(block_cls):

        def _forward(self, x: torch.Tensor) -> list:
            outputs = super()._forward(x)
            if pool == 'max':
                pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
            else:
                pooled = F.avg_pool2d(x, kernel_size=3, stride=1, padding=1,
                                      count_include_pad=False)
            outputs[-1] = self.branch_pool(pooled)
            return outputs

    FIDBlock.__name__ = f'FID{block_cls.__name__}'
    return FIDBlock


@MODELS.register_module()
class FIDInceptionV3(FrozenModule):
    """The Inception-v3 of FID: 2048-d pool features of the TF 2015 graph.

    The architecture and key layout of pytorch-fid's ``FIDInceptionV3`` (torchvision
    Inception-v3 with FID pooling in its mixed blocks, 1008 classes, no auxiliary
    head), so its weights file ``pt_inception-2015-12-05-6726825d.pth`` (a port of
    the TF graph every FID number in the literature comes from) loads key-for-key
    from a local path. ``checkpoint=None`` gives random weights (warned): the
    distances are then only comparable within one run (tests).

    Args:
        checkpoint: Path/URL of ``pt_inception-2015-12-05-6726825d.pth``, or None.
        input_size: Images are resized (bilinear) to this side first; 299 is the
            standard. Smaller sides (>= 75) are only for tests.

    Shapes: ``(N, 3, H, W)`` uint8 RGB -> ``(N, 2048)`` float32.
    """

    def __init__(self, checkpoint: Optional[str] = None, input_size: int = 299):
        super().__init__()
        from torchvision.models.inception import Inception3, InceptionA, InceptionC, InceptionE
        if input_size < 75:
            raise ValueError(f'FIDInceptionV3: input_size must be >= 75, got {input_size}')
        self.input_size = int(input_size)
        net = Inception3(num_classes=1008, aux_logits=False, init_weights=False,
                         transform_input=False)
        block_a, block_c = _fid_block(InceptionA, 'avg'), _fid_block(InceptionC, 'avg')
        net.Mixed_5b = block_a(192, pool_features=32)
        net.Mixed_5c = block_a(256, pool_features=64)
        net.Mixed_5d = block_a(288, pool_features=64)
        net.Mixed_6b = block_c(768, channels_7x7=128)
        net.Mixed_6c = block_c(768, channels_7x7=160)
        net.Mixed_6d = block_c(768, channels_7x7=160)
        net.Mixed_6e = block_c(768, channels_7x7=192)
        net.Mixed_7b = _fid_block(InceptionE, 'avg')(1280)
        net.Mixed_7c = _fid_block(InceptionE, 'max')(2048)
        if checkpoint is None:  # the same random network in every process, global RNG untouched
            gen = torch.Generator().manual_seed(0)
            for m in net.modules():
                if isinstance(m, torch.nn.Conv2d):
                    torch.nn.init.kaiming_normal_(m.weight, generator=gen)
        load_pretrained(net, checkpoint, 'FID Inception-v3')
        self.net = net
        self.out_channels = 2048
        self.freeze()

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        net = self.net
        x = images.float() / 255.0
        x = F.interpolate(x, size=(self.input_size, self.input_size), mode='bilinear',
                          align_corners=False)
        x = 2 * x - 1
        for name in ('Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3', 'maxpool1',
                     'Conv2d_3b_1x1', 'Conv2d_4a_3x3', 'maxpool2', 'Mixed_5b', 'Mixed_5c',
                     'Mixed_5d', 'Mixed_6a', 'Mixed_6b', 'Mixed_6c', 'Mixed_6d', 'Mixed_6e',
                     'Mixed_7a', 'Mixed_7b', 'Mixed_7c'):
            x = getattr(net, name)(x)
        return F.adaptive_avg_pool2d(x, 1).flatten(1)
