"""The blender's inference input on tensors: I_A's head over T's scene, batched on any device.

The tensor twin of :class:`headswap.datasets.transforms.ComposeHeadOverScene` (numpy, one
sample): T's head, dilated, is filled from the nearest scene pixels and blurred, then A's head
pixels and labels are pasted on top. Kernels are OpenCV's (elliptic dilation, Gaussian blur
with reflect-101 borders); the nearest-pixel fill is an exact-Euclidean jump flood where
OpenCV uses a 5x5 distance mask, so the two agree up to ties (tested).
"""
from typing import Tuple

import torch
import torch.nn.functional as F

# the torch label table, under its old name here
from headswap.structures.face_labels import label_lut_tensor as label_lut

__all__ = ['nearest_seed_index', 'dilate_ellipse', 'gaussian_blur_cv2',
           'compose_head_over_scene', 'label_lut']


def _shift(x: torch.Tensor, dy: int, dx: int, fill: int) -> torch.Tensor:
    """``out[..., y, x] = x[..., y + dy, x + dx]`` (``fill`` outside), ``(B, H, W)``."""
    h, w = x.shape[-2:]
    if abs(dy) >= h or abs(dx) >= w:
        return torch.full_like(x, fill)
    pad = (max(-dx, 0), max(dx, 0), max(-dy, 0), max(dy, 0))
    padded = F.pad(x, pad, value=fill)
    y0, x0 = max(dy, 0), max(dx, 0)
    return padded[..., y0:y0 + h, x0:x0 + w]


def nearest_seed_index(seeds: torch.Tensor) -> torch.Tensor:
    """Flat index (``y * W + x``) of the nearest seed pixel of every pixel (jump flooding).

    Args:
        seeds: ``(B, H, W)`` bool.

    Returns:
        ``(B, H, W)`` long; seeds map to themselves; -1 in an image without seeds.
    """
    b, h, w = seeds.shape
    dev = seeds.device
    # int32 halves the memory traffic; indices and squared distances fit up to 32k x 32k
    dtype = torch.int32 if h * w < 2 ** 30 and h < 32768 and w < 32768 else torch.long
    ys = torch.arange(h, device=dev, dtype=dtype).view(1, h, 1)
    xs = torch.arange(w, device=dev, dtype=dtype).view(1, 1, w)
    flat = (ys * w + xs).expand(b, h, w)
    idx = torch.where(seeds, flat, torch.full_like(flat, -1))
    big = torch.iinfo(dtype).max
    best = torch.where(seeds, torch.zeros_like(flat), torch.full_like(flat, big))
    step = 1
    while step * 2 < max(h, w):
        step *= 2
    steps = []
    while step >= 1:
        steps.append(step)
        step //= 2
    for s in steps + [1]:  # JFA+1: one more unit pass mends the rare misses
        prev = idx
        for dy in (-s, 0, s):
            for dx in (-s, 0, s):
                if dy == 0 and dx == 0:
                    continue
                cand = _shift(prev, dy, dx, -1)
                cy = torch.div(cand, w, rounding_mode='floor')
                cx = cand - cy * w
                d = (cy - ys) ** 2 + (cx - xs) ** 2
                better = (cand >= 0) & (d < best)
                idx = torch.where(better, cand, idx)
                best = torch.where(better, d, best)
    return idx.long()


def dilate_ellipse(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """``cv2.dilate`` with ``MORPH_ELLIPSE`` of side ``2 * radius + 1``: ``(B, 1, H, W)`` bool."""
    if radius <= 0:
        return mask
    import cv2
    kernel = torch.from_numpy(cv2.getStructuringElement(
        cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)).to(mask.device, torch.float32)
    hit = F.conv2d(mask.float(), kernel[None, None], padding=radius)
    return hit > 0.5


def gaussian_blur_cv2(img: torch.Tensor, ksize: int) -> torch.Tensor:
    """``cv2.GaussianBlur(img, (k, k), 0)`` on ``(B, C, H, W)`` floats (reflect-101 borders)."""
    import cv2
    k = int(ksize) | 1
    if k <= 1:
        return img
    g = torch.from_numpy(cv2.getGaussianKernel(k, 0)[:, 0]).to(img.device, img.dtype)
    c = img.shape[1]
    r = k // 2
    h, w = img.shape[-2:]
    if r >= h or r >= w:  # reflect padding needs r < side
        return img
    x = F.pad(img, (r, r, 0, 0), mode='reflect')
    x = F.conv2d(x, g.view(1, 1, 1, k).expand(c, 1, 1, k), groups=c)
    x = F.pad(x, (0, 0, r, r), mode='reflect')
    return F.conv2d(x, g.view(1, 1, k, 1).expand(c, 1, k, 1), groups=c)


def compose_head_over_scene(head_img: torch.Tensor, head_parsing: torch.Tensor,
                            target_img: torch.Tensor, target_parsing: torch.Tensor,
                            head_lut: torch.Tensor, hole_dilation: float = 0.01,
                            fill_blur: float = 0.01) -> Tuple[torch.Tensor, torch.Tensor]:
    """A's head over T's image whose own (dilated) head is filled from its surroundings.

    Args:
        head_img: I_A ``(B, C, H, W)`` float.
        head_parsing: A's labels ``(B, 1, H, W)`` long.
        target_img: I_T ``(B, C, H, W)`` float.
        target_parsing: T's labels ``(B, 1, H, W)`` long.
        head_lut: ``(256,)`` bool table of the head labels (:func:`label_lut`).
        hole_dilation: Growth of T's head before the fill, fraction of the side.
        fill_blur: Gaussian blur of the filled hole, fraction of the side.

    Returns:
        The composed image ``(B, C, H, W)`` and labels ``(B, 1, H, W)`` long. A sample
        whose dilated head covers the whole image keeps T's pixels in the hole
        (there is nothing to fill from).
    """
    b, c, h, w = target_img.shape
    side = max(h, w)
    lut = head_lut.to(target_parsing.device)
    hole = lut[target_parsing.clamp(0, 255)]
    hole = dilate_ellipse(hole, int(round(hole_dilation * side)))
    nearest = nearest_seed_index(~hole[:, 0])  # (B, H, W)
    fillable = hole[:, 0] & (nearest >= 0)
    src = torch.where(fillable, nearest, torch.arange(h * w, device=nearest.device)
                      .view(1, h, w).expand(b, h, w)).view(b, 1, h * w)
    img = torch.gather(target_img.flatten(2), 2, src.expand(b, c, h * w)).view(b, c, h, w)
    lab = torch.gather(target_parsing.flatten(2), 2, src).view(b, 1, h, w)
    blur = int(round(2 * fill_blur * side)) + 1
    if blur > 1:
        img = torch.where(fillable[:, None], gaussian_blur_cv2(img, blur), img)
    head = lut[head_parsing.clamp(0, 255)]
    img = torch.where(head, head_img.to(img.dtype), img)
    lab = torch.where(head, head_parsing, lab)
    return img, lab
