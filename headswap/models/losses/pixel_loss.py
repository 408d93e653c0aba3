from typing import Optional

import torch
import torch.nn as nn

from headswap.registry import MODELS

__all__ = ['L1Loss']


@MODELS.register_module()
class L1Loss(nn.Module):
    """``loss_weight * mean |pred - target|``, optionally inside a mask (eqs. 1 and 7).

    mmagic has an equivalent loss, but importing ``mmagic.models`` pulls in
    diffusers and transformers (seconds of import time, fragile pins) for one line.

    Args:
        loss_weight: Weight of the loss.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        diff = (pred - target).abs()
        if mask is None:
            return self.loss_weight * diff.mean()
        mask = mask.expand_as(diff)
        return self.loss_weight * (diff * mask).sum() / mask.sum().clamp(min=1.0)
