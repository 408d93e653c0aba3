import math
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from headswap.registry import MODELS

__all__ = ['IdentityHidingAugmentation']

# RGB <-> YIQ: a hue shift is a rotation of the (I, Q) chroma plane
_RGB2YIQ = ((0.299, 0.587, 0.114), (0.596, -0.274, -0.322), (0.211, -0.523, 0.312))


def _uniform(n: int, low: float, high: float, like: torch.Tensor) -> torch.Tensor:
    return torch.empty(n, device=like.device, dtype=torch.float32).uniform_(low, high)


def random_affine_theta(n: int, rotation: float, scale: Sequence[float], translation: float,
                        like: torch.Tensor) -> torch.Tensor:
    """``(n, 2, 3)`` float32 ``affine_grid`` matrices: rotation up to ``rotation`` degrees,
    zoom in ``scale`` and shift up to ``translation`` of the side, drawn per sample."""
    angle = _uniform(n, -rotation, rotation, like) * math.pi / 180
    zoom = _uniform(n, scale[0], scale[1], like)
    shift = _uniform(2 * n, -translation, translation, like).view(n, 2) * 2
    cos, sin = angle.cos() / zoom, angle.sin() / zoom
    return torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1),
                        torch.stack([sin, cos, shift[:, 1]], 1)], 1)


def affine_warp(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Warp ``(B, C, H, W)`` by ``theta`` ``(B, 2, 3)`` (bilinear, border padding)."""
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode='bilinear', padding_mode='border', align_corners=False)


@MODELS.register_module()
class IdentityHidingAugmentation(nn.Module):
    """Per-sample colour jitter and random affine of the driver, on the device.

    Design decision (SPEC section 2, as in LPD): the pose and expression
    encoders see a driver whose colours and exact geometry are perturbed, so
    that appearance (identity) cannot leak through them. Random numbers come
    from torch's global generator (restored on resume by RNGStateHook). Active
    in training mode only; identity in eval mode.

    Args:
        brightness: Max relative brightness change (factor in [1-b, 1+b]).
        contrast: Max relative contrast change.
        saturation: Max relative saturation change.
        hue: Max hue rotation as a fraction of a full turn (<= 0.5).
        rotation: Max rotation in degrees.
        scale: ``(min, max)`` zoom factor.
        translation: Max shift as a fraction of the image side.
        input_range: Value range of the images, kept after jitter.
        geometry_warmup: Training calls over which rotation, zoom and shift grow
            linearly from none to the values above (0: full from the start). The
            geometric part slows early learning most (the driver no longer lines up
            with the target); colour jitter is always at full strength. With a
            warm-up the call count is a buffer (``steps``), saved in checkpoints.

    Shapes: ``(B, 3, H, W)`` -> ``(B, 3, H, W)``.
    """

    def __init__(self, brightness: float = 0.3, contrast: float = 0.3, saturation: float = 0.3,
                 hue: float = 0.05, rotation: float = 10.0, scale: Sequence[float] = (0.9, 1.1),
                 translation: float = 0.05, input_range: Sequence[float] = (-1., 1.),
                 geometry_warmup: int = 0):
        super().__init__()
        if not 0 <= hue <= 0.5:
            raise ValueError(f'hue must be in [0, 0.5] (a fraction of a turn), got {hue}')
        self.brightness, self.contrast, self.saturation, self.hue = (
            brightness, contrast, saturation, hue)
        self.rotation, self.scale, self.translation = rotation, tuple(scale), translation
        self.input_range = (float(input_range[0]), float(input_range[1]))
        self.geometry_warmup = int(geometry_warmup)
        # saved only when it matters, so state dicts without a warm-up keep their keys
        self.register_buffer('steps', torch.zeros((), dtype=torch.long),
                             persistent=self.geometry_warmup > 0)
        self._host_steps: Optional[int] = None  # mirror of `steps`: no device sync per call
        rgb2yiq = torch.tensor(_RGB2YIQ)
        self.register_buffer('rgb2yiq', rgb2yiq, persistent=False)
        self.register_buffer('yiq2rgb', torch.linalg.inv(rgb2yiq), persistent=False)

    def colour_jitter(self, x: torch.Tensor) -> torch.Tensor:
        """Brightness, contrast, saturation and hue per sample; x in [0, 1]."""
        b = x.shape[0]
        yiq = torch.einsum('ij,bjhw->bihw', self.rgb2yiq.to(x.dtype), x)
        bright = _uniform(b, 1 - self.brightness, 1 + self.brightness, x).to(x.dtype)
        contrast = _uniform(b, 1 - self.contrast, 1 + self.contrast, x).to(x.dtype)
        sat = _uniform(b, 1 - self.saturation, 1 + self.saturation, x).to(x.dtype)
        angle = _uniform(b, -self.hue, self.hue, x) * 2 * math.pi
        luma = yiq[:, :1] * bright.view(b, 1, 1, 1)
        mean = luma.mean((2, 3), keepdim=True)
        luma = (luma - mean) * contrast.view(b, 1, 1, 1) + mean
        cos, sin = angle.cos().to(x.dtype).view(b, 1, 1), angle.sin().to(x.dtype).view(b, 1, 1)
        i, q = yiq[:, 1], yiq[:, 2]
        s = (sat * bright).view(b, 1, 1)
        chroma = torch.stack([(i * cos - q * sin) * s, (i * sin + q * cos) * s], 1)
        yiq = torch.cat([luma, chroma], 1)
        return torch.einsum('ij,bjhw->bihw', self.yiq2rgb.to(x.dtype), yiq).clamp(0, 1)

    def geometry_strength(self) -> float:
        """Fraction of the configured rotation / zoom / shift in use (the warm-up ramp)."""
        if self.geometry_warmup <= 0:
            return 1.0
        return min(1.0, self.steps_seen() / self.geometry_warmup)

    def steps_seen(self) -> int:
        if self._host_steps is None:
            self._host_steps = int(self.steps)
        return self._host_steps

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        self._host_steps = None  # re-read the loaded count at the next call

    def random_affine(self, x: torch.Tensor) -> torch.Tensor:
        """Rotation, zoom and shift per sample (bilinear, border padding)."""
        k = self.geometry_strength()
        if k == 0:
            return x
        low, high = self.scale
        theta = random_affine_theta(x.shape[0], self.rotation * k,
                                    (1 - k * (1 - low), 1 + k * (high - 1)),
                                    self.translation * k, x)
        return affine_warp(x, theta)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        low, high = self.input_range
        x = (x - low) / (high - low)
        x = self.random_affine(self.colour_jitter(x))
        if self.geometry_warmup > 0:
            seen = self.steps_seen()
            self.steps += 1
            self._host_steps = seen + 1
        return x * (high - low) + low
