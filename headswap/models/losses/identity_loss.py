import torch
import torch.nn as nn
import torch.nn.functional as F

from headswap.registry import MODELS

__all__ = ['IdentityLoss']


@MODELS.register_module()
class IdentityLoss(nn.Module):
    """``loss_weight * mean(1 - cos(e_a, e_b))`` over the batch (supplement eq. 3).

    The embeddings come from the frozen ArcFace encoder; which network makes
    them is the model's business.

    Args:
        loss_weight: lambda_id.

    Shapes: ``(B, D)``, ``(B, D)`` -> scalar.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, emb_a: torch.Tensor, emb_b: torch.Tensor) -> torch.Tensor:
        if emb_a.shape != emb_b.shape:
            raise ValueError(f'IdentityLoss: embeddings of shapes {tuple(emb_a.shape)} and '
                             f'{tuple(emb_b.shape)}')
        cos = F.cosine_similarity(emb_a.float(), emb_b.float(), dim=-1)
        return self.loss_weight * (1 - cos).mean()
