import math
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.ops import roi_align

from headswap.registry import MODELS
from headswap.utils.pretrained import FrozenModule, load_pretrained
from ..frozen.iresnet import IResNet

__all__ = ['ArcFaceIdentityEncoder', 'ARCFACE_TEMPLATE_112', 'arcface_crop_box']

# insightface's 5-point alignment template of the 112x112 ArcFace crop
# (eye centres, nose tip, mouth corners), in pixels
ARCFACE_TEMPLATE_112 = ((38.2946, 51.6963), (73.5318, 51.5014), (56.0252, 71.7366),
                        (41.5493, 92.3655), (70.7299, 92.2041))


def arcface_crop_box(crop_scale: float = 2.0, center: Sequence[float] = (0.5, 0.5)
                     ) -> Tuple[float, float, float, float]:
    """Where ArcFace's 112x112 window lies in a headswap crop, as fractions of its side.

    How it is derived: headswap's aligned crops are made by mapping 5 landmarks
    onto ArcFace's template enlarged ``crop_scale`` times about the centre of the
    crop (``template_points`` in ``headswap/face/alignment.py``;
    ``crop_scale`` is in ``index.json``'s metainfo, 2.0 by default), so that
    hair, ears and neck fit. The similarity that maps those template points of
    a crop of side S back onto ``ARCFACE_TEMPLATE_112`` is therefore a pure
    scale ``112 * crop_scale / S`` about the centre: the ArcFace window is the
    centred square of side ``S / crop_scale``. Crops prepared with a vertical
    ``y_offset`` need ``center=(0.5, 0.5 + y_offset)``.

    Returns:
        ``(x0, y0, x1, y1)`` in [0, 1] (fractions of the crop's width and height).
    """
    if crop_scale < 1:
        raise ValueError(f'crop_scale must be >= 1 (the head crop contains the face), '
                         f'got {crop_scale}')
    half = 0.5 / crop_scale
    cx, cy = float(center[0]), float(center[1])
    box = (cx - half, cy - half, cx + half, cy + half)
    if min(box) < 0 or max(box) > 1:
        raise ValueError(f'the ArcFace window {box} (crop_scale={crop_scale}, '
                         f'center={tuple(center)}) leaves the crop')
    return box


@MODELS.register_module()
class ArcFaceIdentityEncoder(FrozenModule):
    """Frozen ArcFace identity encoder E_id on headswap head crops.

    Takes the ArcFace window out of each head crop by the fixed transform of
    :func:`arcface_crop_box` (bilinear ``roi_align`` with adaptive sampling, so
    the downscale is antialiased and differentiable), runs the IResNet and
    L2-normalises the embedding. K-shot input gives the mean of the K
    normalised embeddings. The IResNet's state dict is insightface's
    ``backbone.pth`` layout (see :class:`headswap.models.frozen.IResNet`).

    Args:
        depth: IResNet depth (50 or 100 for the public checkpoints).
        checkpoint: Path/URL of an insightface ``backbone.pth``, or None for
            random weights (warned; tests only).
        crop_scale: Scale of the head crop relative to ArcFace's window.
        crop_center: Centre of the ArcFace window in the crop (fractions).
        depths: Blocks per stage, overriding ``depth`` (tests).
        base_channels: IResNet stem width (64; tests use less).
        embedding_dim: Embedding size (512).
        input_size: ArcFace crop side (112; a checkpoint needs 112).

    Shapes: ``(B, 3, H, W)`` in [-1, 1] -> ``(B, embedding_dim)`` (with
    ``return_features`` also the 4 stage outputs); ``(B, K, 3, H, W)`` ->
    ``(B, embedding_dim)`` averaged over K.
    """

    def __init__(self, depth: int = 100, checkpoint: Optional[str] = None,
                 crop_scale: float = 2.0, crop_center: Sequence[float] = (0.5, 0.5),
                 depths: Optional[Sequence[int]] = None, base_channels: int = 64,
                 embedding_dim: int = 512, input_size: int = 112):
        super().__init__()
        if checkpoint is not None and (input_size != 112 or base_channels != 64):
            raise ValueError('an ArcFace checkpoint needs input_size=112 and base_channels=64')
        self.out_channels = embedding_dim
        self.crop_box = arcface_crop_box(crop_scale, crop_center)
        self.backbone = IResNet(depth, depths, base_channels, embedding_dim, input_size)
        name = f'ArcFace IResNet-{depth if depths is None else list(depths)}'
        load_pretrained(self.backbone, checkpoint, name)
        if checkpoint is None:
            self._damp_residuals()
        self.freeze()

    def _damp_residuals(self, gain: float = 0.2) -> None:
        """Random weights only: scale every residual branch to ``gain`` of its input.

        With the random init and eval-mode BatchNorm, each of IResNet-100's 49 blocks
        multiplies the activations by 10-40, which overflows float32 (inf/NaN identity
        embeddings, and NaN losses) long before the embedding. Setting each branch's
        last BN scale to ``gain / (g1 * g2)``, where ``g = 0.1 * sqrt(fan_in)`` is the
        gain of a conv with N(0, 0.1) weights, lets a block grow its input by about
        ``sqrt(1 + gain**2)``: a stable function at full depth that still tells
        images apart (zeroed branches would leave little more than the stem, so random
        identity metrics could not tell two people apart). A loaded checkpoint is not
        touched.
        """
        for m in self.backbone.modules():
            bn3 = getattr(m, 'bn3', None)
            if isinstance(bn3, nn.BatchNorm2d):
                g1 = 0.1 * math.sqrt(m.conv1.weight[0].numel())
                g2 = 0.1 * math.sqrt(m.conv2.weight[0].numel())
                nn.init.constant_(bn3.weight, gain / (g1 * g2))

    def crop(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` head crops -> ``(N, 3, 112, 112)`` ArcFace crops."""
        n, _, h, w = x.shape
        x0, y0, x1, y1 = self.crop_box
        # float32 boxes: bfloat16 would round them by up to a pixel at 512 px; filled
        # on the device (no host-to-device copy, so that the crop can be graph-captured)
        cols = [torch.arange(n, dtype=torch.float32, device=x.device)]
        cols += [torch.full((n, ), v, dtype=torch.float32, device=x.device)
                 for v in (x0 * w, y0 * h, x1 * w, y1 * h)]
        rois = torch.stack(cols, dim=1)
        size = self.backbone.input_size
        crop = roi_align(x.float(), rois, output_size=(size, size), spatial_scale=1.0,
                         sampling_ratio=-1, aligned=True)
        return crop.to(x.dtype)

    def forward(self, x: torch.Tensor, return_features: bool = False
                ) -> Union[torch.Tensor, Tuple[torch.Tensor, List[torch.Tensor]]]:
        if x.dim() == 5:
            if return_features:
                raise ValueError('return_features needs (B, 3, H, W) images, not K-shot input')
            b, k = x.shape[:2]
            if k == 0:
                raise ValueError('ArcFaceIdentityEncoder: got K = 0 source images')
            emb = self.forward(x.flatten(0, 1))
            return emb.view(b, k, -1).mean(1)
        emb, feats = self.backbone(self.crop(x), return_features=True)
        emb = F.normalize(emb.float(), dim=1)
        return (emb, feats) if return_features else emb
