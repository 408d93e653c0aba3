from typing import List, Optional, Sequence

import torch
import torch.nn as nn

from headswap.registry import MODELS

__all__ = ['FeatureMatchingLoss']


@MODELS.register_module()
class FeatureMatchingLoss(nn.Module):
    """Weighted L1 distance between two lists of feature maps (eqs. 2 and 6).

    ``sum_l w_l * mean |phi_l(a) - phi_l(b)|``. Used with VGG-19, ArcFace and
    discriminator features; which network produces the features is the
    model's business, the per-layer weights live here.

    Args:
        layer_weights: One weight per layer; None means 1 for every layer.
        loss_weight: Overall weight.
    """

    def __init__(self, layer_weights: Optional[Sequence[float]] = None,
                 loss_weight: float = 1.0):
        super().__init__()
        self.layer_weights = None if layer_weights is None else [float(w) for w in layer_weights]
        self.loss_weight = loss_weight

    def forward(self, feats_a: List[torch.Tensor], feats_b: List[torch.Tensor]) -> torch.Tensor:
        if len(feats_a) != len(feats_b):
            raise ValueError(f'{len(feats_a)} vs {len(feats_b)} feature maps')
        weights = self.layer_weights or [1.0] * len(feats_a)
        if len(weights) != len(feats_a):
            raise ValueError(f'{len(weights)} layer weights for {len(feats_a)} feature maps')
        loss = sum(w * (a - b).abs().mean() for w, a, b in zip(weights, feats_a, feats_b))
        return self.loss_weight * loss
