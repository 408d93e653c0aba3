"""K-shot batching shared by the encoders: fold K into the batch, average over K."""
from typing import Callable

import torch

__all__ = ['encode_kshot']


def encode_kshot(x: torch.Tensor, encode: Callable[[torch.Tensor], torch.Tensor],
                 name: str) -> torch.Tensor:
    """Run ``encode`` on ``(B, 3, H, W)`` or ``(B, K, 3, H, W)`` images.

    Returns ``(B, C)``: for K-shot input, the mean of the K embeddings.
    """
    if x.dim() == 4:
        return encode(x)
    if x.dim() != 5:
        raise ValueError(f'{name}: expected (B, 3, H, W) or (B, K, 3, H, W) images, '
                         f'got shape {tuple(x.shape)}')
    b, k = x.shape[:2]
    if k == 0:
        raise ValueError(f'{name}: got K = 0 source images')
    out = encode(x.flatten(0, 1))
    return out.view(b, k, *out.shape[1:]).mean(1)
