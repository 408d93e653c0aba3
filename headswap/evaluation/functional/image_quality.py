"""Per-image PSNR and SSIM of uint8 images, and reading images out of data-sample dicts."""
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from headswap.errors import UserError

__all__ = ['sample_image', 'sample_mask', 'check_same_size', 'psnr', 'ssim']


def sample_image(sample: dict, key: str, metric: str) -> torch.Tensor:
    """``sample[key]`` as a uint8 ``(3, H, W)`` (or ``(K, 3, H, W)``) CPU tensor.

    Raises:
        KeyError: The sample has no such field (names the metric and the key).
    """
    if key not in sample or sample[key] is None:
        raise KeyError(f'{metric}: the data samples have no {key!r} (they have '
                       f'{sorted(k for k, v in sample.items() if torch.is_tensor(v))}); '
                       "check the metric's keys against the model's test_step outputs")
    img = torch.as_tensor(sample[key]).detach().cpu()
    if img.dtype != torch.uint8 or img.dim() not in (3, 4) or img.shape[-3] != 3:
        raise ValueError(f'{metric}: {key!r} must be uint8 (3, H, W) or (K, 3, H, W) RGB, '
                         f'got {tuple(img.shape)} {img.dtype}')
    return img


def sample_mask(sample: dict, key: str, metric: str) -> torch.Tensor:
    """``sample[key]`` ``(1, H, W)`` float mask -> ``(H, W)`` bool (> 0.5)."""
    if key not in sample or sample[key] is None:
        raise KeyError(f'{metric}: the data samples have no mask {key!r}; region metrics need '
                       "the blender's test_step outputs (head_mask, inpaint_mask)")
    return torch.as_tensor(sample[key]).detach().cpu().reshape(sample[key].shape[-2:]) > 0.5


def check_same_size(a: torch.Tensor, b: torch.Tensor, what: str) -> None:
    """One-line :class:`UserError` when two images (or an image and a mask) differ in size."""
    if tuple(a.shape[-2:]) != tuple(b.shape[-2:]):
        raise UserError(f'{what}: images of different sizes, {tuple(a.shape[-2:])} vs '
                        f'{tuple(b.shape[-2:])}; resize the predictions or the ground truth '
                        'to one resolution (e.g. ResizeFrames in the test pipeline)')


def psnr(pred: torch.Tensor, gt: torch.Tensor, mask: Optional[torch.Tensor] = None,
         max_db: float = 100.0) -> Optional[float]:
    """PSNR in dB of uint8 ``(3, H, W)`` images over all pixels, or those of ``mask`` ``(H, W)``.

    Identical images give ``max_db`` (not infinity, so that means stay finite).
    Returns None when the mask is empty.
    """
    diff = pred.double() - gt.double()
    if mask is not None:
        if not mask.any():
            return None
        diff = diff[:, mask]
    mse = float((diff ** 2).mean())
    if mse == 0:
        return float(max_db)
    return float(min(10.0 * np.log10(255.0 ** 2 / mse), max_db))


def _gaussian_1d(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-x ** 2 / (2 * sigma ** 2))
    return g / g.sum()


def _filter(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Separable 11-tap Gaussian, valid positions: ``(N, 1, H, W)`` -> ``(N, 1, H-10, W-10)``."""
    x = F.conv2d(x, g.view(1, 1, -1, 1))
    return F.conv2d(x, g.view(1, 1, 1, -1))


def ssim(pred: torch.Tensor, gt: torch.Tensor) -> float:
    """SSIM (Wang et al. 2004) of uint8 RGB ``(3, H, W)`` images, mean over the channels.

    Gaussian window 11x11, sigma 1.5, K1 0.01, K2 0.03, data range 255, valid
    positions only: the definition of the paper and of scikit-image's
    ``structural_similarity(gaussian_weights=True, use_sample_covariance=False)``.
    """
    win = _gaussian_1d()
    if min(pred.shape[-2:]) < len(win):
        raise ValueError(f'SSIM needs images of at least 11x11 pixels, got '
                         f'{tuple(pred.shape[-2:])}')
    x = pred.double()[:, None]
    y = gt.double()[:, None]
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_x, mu_y = _filter(x, win), _filter(y, win)
    sxx = _filter(x * x, win) - mu_x ** 2
    syy = _filter(y * y, win) - mu_y ** 2
    sxy = _filter(x * y, win) - mu_x * mu_y
    s = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / (
        (mu_x ** 2 + mu_y ** 2 + c1) * (sxx + syy + c2))
    return float(s.mean())
