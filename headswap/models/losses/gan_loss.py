from typing import List, Union

import torch
import torch.nn as nn

from headswap.registry import MODELS

__all__ = ['HingeGANLoss']

Logits = Union[torch.Tensor, List[torch.Tensor]]


def _as_list(x: Logits) -> List[torch.Tensor]:
    return list(x) if isinstance(x, (list, tuple)) else [x]


@MODELS.register_module()
class HingeGANLoss(nn.Module):
    """Hinge adversarial loss (supplement eqs. 4-5 and 10-11).

    ``L_D = -E[min(0, -1 + D(real))] - E[min(0, -1 - D(fake))]`` and
    ``L_G = -E[D(fake)]``. Multi-scale discriminators pass a list of logits;
    the terms are averaged over scales.

    Args:
        loss_weight: Weight of the generator term (the discriminator term is
            unweighted, as usual).
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def discriminator_loss(self, real: Logits, fake: Logits) -> torch.Tensor:
        real, fake = _as_list(real), _as_list(fake)
        terms = [torch.relu(1. - r).mean() + torch.relu(1. + f).mean()
                 for r, f in zip(real, fake)]
        return sum(terms) / len(terms)

    def generator_loss(self, fake: Logits) -> torch.Tensor:
        fake = _as_list(fake)
        return self.loss_weight * sum(-f.mean() for f in fake) / len(fake)
