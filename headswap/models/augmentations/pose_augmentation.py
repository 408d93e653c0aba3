from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn

from headswap.registry import MODELS
from .identity_hiding_augmentation import _uniform, affine_warp, random_affine_theta

__all__ = ['PoseAugmentation', 'move_points']


@MODELS.register_module()
class PoseAugmentation(nn.Module):
    """One random affine per sample, applied alike to the driver, the target and its mask.

    Design decision: a geometric augmentation of the driver *alone* hides identity but
    also makes the driver disagree with the target it should be rendered as, which is
    the slowest part of early stage-1 learning (``docs/en/stage1_learning.md``). Moving
    the frame as a whole keeps driver and target in register, so the generator learns to
    follow where the driver's head is, and a few dozen frames give many head positions.
    LPD (Burkov et al. 2020) shifts driver, target and mask together in the same way.

    Active in training mode only. Random numbers come from torch's global generator.

    Args:
        rotation: Max rotation in degrees.
        scale: ``(min, max)`` zoom factor.
        translation: Max shift as a fraction of the image side.
        prob: Probability that a sample is transformed at all.

    Shapes: any number of ``(B, C, H, W)`` tensors (``None`` passes through) -> the same
    shapes, each warped by the same per-sample transform. With ``points`` (``(B, N, 2)``
    ``(x, y)`` in ``[0, 1]`` of the side, pixel ``i`` covering ``[i, i + 1) / side``: the
    data preprocessor's landmarks), the points moved by that transform are returned last,
    so that a landmark-conditioned generator sees where the moved face parts are.
    """

    def __init__(self, rotation: float = 5.0, scale: Sequence[float] = (0.9, 1.1),
                 translation: float = 0.05, prob: float = 1.0):
        super().__init__()
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.rotation, self.scale, self.translation = rotation, tuple(scale), translation
        self.prob = prob

    def forward(self, *images: Optional[torch.Tensor], points: Optional[torch.Tensor] = None
                ) -> Tuple[Optional[torch.Tensor], ...]:
        if not self.training:
            return images if points is None else (*images, points)
        first = next(x for x in images if x is not None)
        n = first.shape[0]
        theta = random_affine_theta(n, self.rotation, self.scale, self.translation, first)
        if self.prob < 1:
            keep = _uniform(n, 0, 1, first) >= self.prob  # untransformed samples
            identity = torch.eye(2, 3, device=first.device).expand(n, 2, 3)
            theta = torch.where(keep.view(n, 1, 1), identity, theta)
        out = tuple(None if x is None else affine_warp(x, theta) for x in images)
        return out if points is None else (*out, move_points(points, theta))


def move_points(points: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Where ``points`` ``(B, N, 2)`` in ``[0, 1]`` land in an image warped by
    :func:`affine_warp` with ``theta`` ``(B, 2, 3)``.

    ``affine_grid`` maps each output position ``q`` (in ``[-1, 1]``) to the input position
    ``A q + t`` it samples; a point at input position ``p`` is therefore drawn at
    ``A^-1 (p - t)``.
    """
    theta = theta.float()
    a, t = theta[:, :, :2], theta[:, :, 2]
    p = points.float() * 2 - 1
    q = torch.linalg.solve(a, (p - t.unsqueeze(1)).transpose(1, 2)).transpose(1, 2)
    return ((q + 1) / 2).to(points.dtype)
