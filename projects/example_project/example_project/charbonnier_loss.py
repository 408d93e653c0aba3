from typing import Optional

import torch
import torch.nn as nn

from headswap.registry import MODELS

__all__ = ['CharbonnierLoss']


@MODELS.register_module()
class CharbonnierLoss(nn.Module):
    """Charbonnier loss ``mean sqrt((pred - target)^2 + eps^2)``: a smooth, robust L1.

    A drop-in replacement for headswap's ``L1Loss`` (same call signature, optional
    mask), registered from outside the headswap package.

    Args:
        loss_weight: Weight of the loss.
        eps: Smoothing constant; the loss is ~L1 for ``|pred - target| >> eps``.
    """

    def __init__(self, loss_weight: float = 1.0, eps: float = 1e-3):
        super().__init__()
        self.loss_weight = loss_weight
        self.eps = eps

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        err = torch.sqrt((pred - target) ** 2 + self.eps ** 2)
        if mask is None:
            return self.loss_weight * err.mean()
        mask = mask.expand_as(err)
        return self.loss_weight * (err * mask).sum() / mask.sum().clamp(min=1.0)
