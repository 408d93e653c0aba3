from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from headswap.registry import MODELS

__all__ = ['CycleConsistencyLoss']


@MODELS.register_module()
class CycleConsistencyLoss(nn.Module):
    """``loss_weight * |I_{T->A->T} - I_T|_1`` on the warping grid (supplement eqs. 8-9).

    The cycled exemplar lives on the correlation grid (``1/downsample`` of the
    image); the target is average-pooled to that grid. Pixels whose warp found
    no match carry weight 0 (``weight``), so fallbacks do not pull the
    correspondence.

    Args:
        loss_weight: ``lambda_c``.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, cycled: torch.Tensor, target: torch.Tensor,
                weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``cycled`` ``(B, C, h, w)``, ``target`` ``(B, C, H, W)`` with ``H = f*h``,
        ``weight`` ``(B, 1, h, w)`` in [0, 1] or None."""
        if target.shape[-2:] != cycled.shape[-2:]:
            if target.shape[-2] % cycled.shape[-2] or target.shape[-1] % cycled.shape[-1]:
                raise ValueError(f'target {tuple(target.shape)} is not a multiple of the '
                                 f'cycled grid {tuple(cycled.shape)}')
            target = F.adaptive_avg_pool2d(target, cycled.shape[-2:])
        diff = (cycled - target.to(cycled.dtype)).abs()
        if weight is None:
            return self.loss_weight * diff.mean()
        weight = weight.to(diff.dtype).expand_as(diff)
        return self.loss_weight * (diff * weight).sum() / weight.sum().clamp(min=1.0)
