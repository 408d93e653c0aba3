import torch
import torch.nn as nn

from headswap.registry import MODELS

__all__ = ['DiceLoss']


@MODELS.register_module()
class DiceLoss(nn.Module):
    """Soft Dice loss of a predicted mask against a target mask.

    ``loss_weight * mean_b (1 - (2 sum(p t) + s) / (sum(p) + sum(t) + s))``.
    Used for the generator's head mask (design decision: LPD supervises its
    segmentation output with Dice too; Dice does not depend on how much of the
    crop the head fills, where a per-pixel BCE would).

    Args:
        loss_weight: Weight of the loss.
        smooth: Added to numerator and denominator (empty masks give 0 loss
            when the prediction is empty too).

    Shapes: ``(B, 1, H, W)`` probabilities and targets in [0, 1] -> scalar.
    """

    def __init__(self, loss_weight: float = 1.0, smooth: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight
        self.smooth = smooth

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if pred.shape != target.shape:
            raise ValueError(f'DiceLoss: prediction {tuple(pred.shape)} vs target '
                             f'{tuple(target.shape)}')
        pred, target = pred.float().flatten(1), target.float().flatten(1)
        inter = (pred * target).sum(1)
        dice = (2 * inter + self.smooth) / (pred.sum(1) + target.sum(1) + self.smooth)
        return self.loss_weight * (1 - dice).mean()
