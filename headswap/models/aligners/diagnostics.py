"""Training-time signs of a stage-1 collapse: does the output follow the driver?

A reenactment model can lower every reconstruction loss by drawing one average face for
all inputs; its losses then look like slow learning. :class:`DriverSensitivityWindow`
keeps small copies of the last outputs and targets a training run produced and measures
how much the outputs differ from each other against how much their targets do
(:func:`driver_sensitivity`), and how many outputs are nearer their own target than any
other target of the window (:func:`own_target_nearest`). The first alone can be fooled:
outputs that vary with the sources or the driver's colour jitter, but not with its pose,
spread as much as their targets do; only the second tells they do not follow the driver.
"""
from collections import deque
from typing import Deque, Dict, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ['DriverSensitivityWindow', 'driver_sensitivity', 'grad_norms', 'own_target_nearest']


def driver_sensitivity(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Spread of ``outputs`` across samples over the spread of their ``targets``.

    ``(N, C, H, W)`` each, N >= 2: the per-pixel standard deviation over the N samples,
    averaged over pixels, of the outputs divided by that of the targets. 0: one image
    whatever the input (a mean face); about 1: the outputs differ as much as the
    targets do.
    """
    if outputs.shape[0] < 2 or outputs.shape != targets.shape:
        raise ValueError(f'driver_sensitivity needs two or more (outputs, targets) of one '
                         f'shape, got {tuple(outputs.shape)} and {tuple(targets.shape)}')
    spread = outputs.float().std(0).mean()
    return spread / targets.float().std(0).mean().clamp_min(1e-8)


def own_target_nearest(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Fraction of ``outputs`` nearer (mean absolute difference) their own target than any
    other of ``targets``.

    ``(N, C, H, W)`` each, N >= 2. 1: every output picks out its own target; one image for
    all inputs, or outputs that vary with something other than their targets, score about
    chance (``1 / N`` when the targets are all different).
    """
    if outputs.shape[0] < 2 or outputs.shape != targets.shape:
        raise ValueError(f'own_target_nearest needs two or more (outputs, targets) of one '
                         f'shape, got {tuple(outputs.shape)} and {tuple(targets.shape)}')
    o, t = outputs.float().flatten(1), targets.float().flatten(1)
    dist = (o[:, None] - t[None]).abs().mean(-1)  # (outputs, targets)
    own = dist.diagonal()
    others = dist + torch.diag(torch.full_like(own, float('inf')))
    return (own < others.min(1).values).float().mean()


class DriverSensitivityWindow:
    """The last ``size`` training samples of an aligner, as thumbnails and AdaIN vectors.

    With batch 1 per GPU (the paper's setting) a batch has no spread, so the window
    spans iterations; the model changes little within ``size`` iterations.

    Args:
        size: Samples kept.
        thumbnail: Side the images are average-pooled to.
    """

    def __init__(self, size: int = 32, thumbnail: int = 16):
        if size < 2:
            raise ValueError(f'the window needs at least 2 samples, got size={size}')
        self.size, self.thumbnail = size, thumbnail
        self._fake: Deque[torch.Tensor] = deque(maxlen=size)
        self._real: Deque[torch.Tensor] = deque(maxlen=size)
        self._params: Deque[torch.Tensor] = deque(maxlen=size)

    def _small(self, img: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(img.detach().float(), self.thumbnail)

    @torch.no_grad()
    def add(self, fake: torch.Tensor, real: torch.Tensor,
            adain_params: Optional[torch.Tensor] = None) -> None:
        """Add a batch: ``fake``/``real`` ``(B, 3, H, W)``, ``adain_params`` ``(B, P)``."""
        self._fake.extend(self._small(fake).unbind(0))
        self._real.extend(self._small(real).unbind(0))
        if adain_params is not None:
            self._params.extend(adain_params.detach().float().unbind(0))

    @torch.no_grad()
    def stats(self) -> Dict[str, torch.Tensor]:
        """``driver_sensitivity``, ``driver_nearest`` (:func:`own_target_nearest` over the
        window) and, when AdaIN vectors were given, ``adain_std`` (mean over parameters of
        their std across the window) and ``adain_rms``; empty until the window holds two
        samples."""
        out: Dict[str, torch.Tensor] = {}
        if len(self._fake) >= 2:
            fake, real = torch.stack(list(self._fake)), torch.stack(list(self._real))
            out['driver_sensitivity'] = driver_sensitivity(fake, real)
            out['driver_nearest'] = own_target_nearest(fake, real)
        if len(self._params) >= 2:
            params = torch.stack(list(self._params))
            out['adain_std'] = params.std(0).mean()
            out['adain_rms'] = params.pow(2).mean().sqrt()
        return out


def grad_norms(model: nn.Module, parts: Sequence[str]) -> Dict[str, torch.Tensor]:
    """L2 norm of the gradients reaching each of ``model``'s ``parts`` (``grad_norm_<part>``):
    how much of the loss's pull arrives at the pose encoder, the MLP, ..."""
    out = {}
    for name in parts:
        grads = [p.grad for p in getattr(model, name).parameters() if p.grad is not None]
        if grads:
            out[f'grad_norm_{name}'] = torch.nn.utils.get_total_norm(grads).float()
    return out
