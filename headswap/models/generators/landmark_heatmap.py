from typing import Sequence, Tuple

import torch
import torch.nn as nn

from headswap.registry import MODELS

__all__ = ['LandmarkHeatmap', 'IBUG68_PARTS']

# iBUG-68 point ranges [start, stop) of the parts drawn in separate channels (as the coloured
# landmark sketches of Zakharov et al. 2019): jaw, brows, nose, eyes, outer and inner lips
IBUG68_PARTS: Tuple[Tuple[int, int], ...] = (
    (0, 17), (17, 22), (22, 27), (27, 36), (36, 42), (42, 48), (48, 60), (60, 68))


@MODELS.register_module()
class LandmarkHeatmap(nn.Module):
    """Rasterise face landmarks into one Gaussian heat map per face part.

    The spatial driver signal of a landmark-conditioned generator
    (``LPDGenerator(cond_channels=...)``): where the driver's jaw, brows,
    nose, eyes and lips are, at ``size`` x ``size``. Each channel is the
    maximum over its part's points of ``exp(-d^2 / (2 sigma^2))``.

    Args:
        size: Side of the heat maps.
        sigma: Gaussian radius in heat-map pixels.
        parts: ``[start, stop)`` point ranges, one channel each (iBUG-68 parts).

    Shapes: landmarks ``(B, N, 2)`` as ``(x, y)`` in [0, 1] of the image side
    (pixel centres at ``(i + 0.5) / side``) -> ``(B, len(parts), size, size)``
    in [0, 1].
    """

    def __init__(self, size: int = 128, sigma: float = 1.5,
                 parts: Sequence[Sequence[int]] = IBUG68_PARTS):
        super().__init__()
        if size < 4 or sigma <= 0:
            raise ValueError(f'LandmarkHeatmap needs size >= 4 and sigma > 0, got {size}, '
                             f'{sigma}')
        self.size, self.sigma = int(size), float(sigma)
        self.parts = [(int(a), int(b)) for a, b in parts]
        if any(a < 0 or b <= a for a, b in self.parts):
            raise ValueError(f'LandmarkHeatmap parts must be [start, stop) ranges, got {parts}')
        self.num_points = max(b for _, b in self.parts)
        # pixel centres of the heat maps, in heat-map pixels
        self.register_buffer('centres', torch.arange(self.size, dtype=torch.float32) + 0.5,
                             persistent=False)

    @property
    def num_channels(self) -> int:
        return len(self.parts)

    def forward(self, landmarks: torch.Tensor) -> torch.Tensor:
        if landmarks.dim() != 3 or landmarks.shape[-1] != 2 \
                or landmarks.shape[1] < self.num_points:
            raise ValueError(f'LandmarkHeatmap expects (B, >={self.num_points}, 2) landmarks in '
                             f'[0, 1], got {tuple(landmarks.shape)}')
        lm = landmarks.float() * self.size  # heat-map pixels
        inv = -0.5 / self.sigma**2
        gx = torch.exp(inv * (self.centres - lm[..., 0:1])**2)  # (B, N, S)
        gy = torch.exp(inv * (self.centres - lm[..., 1:2])**2)
        maps = [torch.einsum('bny,bnx->bnyx', gy[:, a:b], gx[:, a:b]).amax(dim=1)
                for a, b in self.parts]
        return torch.stack(maps, dim=1)
