"""Pasting swapped crops back into full-resolution frames, batched on the frames' device.

The crop was cut with ``cv2.warpAffine(frame, M, (S, S))`` (the alignment of data
preparation); the inverse maps every frame pixel ``X`` to crop coordinates ``M X`` where the
crop and a soft mask are sampled bilinearly (``grid_sample`` with OpenCV's pixel-centre
convention), only inside the crop's footprint in the frame. The mask is the blender's edited
region, eroded and blurred *inside* itself, so every frame pixel outside that (dilated head)
region keeps its exact bytes.
"""
from typing import List, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from headswap.structures.pixels import denormalize_pixels

__all__ = ['feather_mask', 'crop_footprints', 'paste_back']


def _box_blur(x: torch.Tensor, radius: int) -> torch.Tensor:
    k = 2 * radius + 1
    x = F.avg_pool2d(F.pad(x, (radius, radius, 0, 0), mode='replicate'), (1, k), stride=1)
    return F.avg_pool2d(F.pad(x, (0, 0, radius, radius), mode='replicate'), (k, 1), stride=1)


def feather_mask(edit_mask: torch.Tensor, feather: int) -> torch.Tensor:
    """Soft paste mask ``(N, 1, S, S)`` in [0, 1] whose support lies inside ``edit_mask``.

    The binary region is eroded by ``2 r`` and box-blurred twice with radius
    ``r = feather // 2`` (a ramp about ``feather`` pixels wide that ends at the
    region's border), then faded out over ``feather`` pixels at the crop's border
    so a head touching the crop edge leaves no seam.
    """
    mask = (edit_mask > 0.5).float()
    r = max(1, int(feather) // 2)
    eroded = -F.max_pool2d(-F.pad(mask, (2 * r,) * 4, value=0.0), 4 * r + 1, stride=1)
    alpha = _box_blur(_box_blur(eroded, r), r) * mask
    s_h, s_w = mask.shape[-2:]
    ys = torch.arange(s_h, device=mask.device, dtype=mask.dtype)
    xs = torch.arange(s_w, device=mask.device, dtype=mask.dtype)
    dy = torch.minimum(ys, s_h - 1 - ys).view(-1, 1)
    dx = torch.minimum(xs, s_w - 1 - xs).view(1, -1)
    ramp = (torch.minimum(dy, dx) / max(1, int(feather))).clamp(0, 1)
    return alpha * ramp


def crop_footprints(matrices: Sequence[np.ndarray], crop_size: int, frame_size: Tuple[int, int]
                    ) -> List[Tuple[int, int, int, int]]:
    """Integer boxes ``(x0, y0, x1, y1)`` of the frame covered by each crop (clipped).

    Args:
        matrices: ``(2, 3)`` frame -> crop affine matrices.
        crop_size: Side S of the crops.
        frame_size: ``(width, height)`` of the frames.
    """
    import cv2
    w, h = frame_size
    corners = np.array([[0, 0], [crop_size, 0], [crop_size, crop_size], [0, crop_size]],
                       np.float64) - 0.5
    boxes = []
    for m in matrices:
        inv = cv2.invertAffineTransform(np.asarray(m, np.float64))
        pts = corners @ inv[:, :2].T + inv[:, 2]
        x0, y0 = np.floor(pts.min(0)).astype(int) - 1
        x1, y1 = np.ceil(pts.max(0)).astype(int) + 2
        boxes.append((max(0, x0), max(0, y0), min(w, x1), min(h, y1)))
    return boxes


def paste_back(frames: torch.Tensor, crops: torch.Tensor, alpha: torch.Tensor,
               matrices: Sequence[np.ndarray]) -> torch.Tensor:
    """Blend swapped crops into their frames through the inverse alignment.

    Args:
        frames: ``(N, 3, H, W)`` uint8 full frames (any device).
        crops: ``(N, 3, S, S)`` swapped crops in [-1, 1] (same device).
        alpha: ``(N, 1, S, S)`` paste mask in [0, 1] (:func:`feather_mask`).
        matrices: N ``(2, 3)`` frame -> crop matrices (the alignment's ``M``).

    Returns:
        ``(N, 3, H, W)`` uint8: ``frame + alpha (crop - frame)`` rounded where the
        sampled alpha is > 0, the frame's own bytes elsewhere.
    """
    n, _, h, w = frames.shape
    s = crops.shape[-1]
    out = frames.clone()
    if n == 0:
        return out
    boxes = crop_footprints(matrices, s, (w, h))
    bw = max(1, max(b[2] - b[0] for b in boxes))
    bh = max(1, max(b[3] - b[1] for b in boxes))
    dev = frames.device
    m = torch.as_tensor(np.stack(matrices), dtype=torch.float32, device=dev)  # (N, 2, 3)
    origin = torch.as_tensor([[b[0], b[1]] for b in boxes], dtype=torch.float32, device=dev)
    ys = torch.arange(bh, device=dev, dtype=torch.float32)
    xs = torch.arange(bw, device=dev, dtype=torch.float32)
    gy, gx = torch.meshgrid(ys, xs, indexing='ij')
    px = gx[None] + origin[:, 0, None, None]  # frame pixel centres (N, bh, bw)
    py = gy[None] + origin[:, 1, None, None]
    u = m[:, 0, 0, None, None] * px + m[:, 0, 1, None, None] * py + m[:, 0, 2, None, None]
    v = m[:, 1, 0, None, None] * px + m[:, 1, 1, None, None] * py + m[:, 1, 2, None, None]
    grid = torch.stack([(2 * u + 1) / s - 1, (2 * v + 1) / s - 1], dim=-1)
    src = torch.cat([crops.float(), alpha.float()], 1)
    sampled = F.grid_sample(src, grid, mode='bilinear', padding_mode='zeros',
                            align_corners=False)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        if x1 <= x0 or y1 <= y0:
            continue
        region = out[i, :, y0:y1, x0:x1]
        a = sampled[i, 3:, :y1 - y0, :x1 - x0]
        pred = denormalize_pixels(sampled[i, :3, :y1 - y0, :x1 - x0])
        base = region.float()
        blended = (base + a * (pred - base)).round().clamp(0, 255).to(torch.uint8)
        out[i, :, y0:y1, x0:x1] = torch.where(a > 0, blended, region)
    return out
