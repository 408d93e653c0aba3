from typing import List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.visualization import Visualizer

from headswap.registry import VISUALIZERS

__all__ = ['HeadSwapVisualizer', 'make_image_grid']


def _as_tiles(img: torch.Tensor, size: int) -> List[torch.Tensor]:
    """``(3, H, W)`` or ``(K, 3, H, W)`` image(s) -> list of ``(3, size, size)`` uint8 tiles."""
    img = img.detach().cpu()
    if img.dim() == 3:
        img = img[None]
    if img.shape[1] == 1:
        img = img.expand(-1, 3, -1, -1)
    if img.dtype != torch.uint8:  # masks / probabilities in [0, 1]
        img = (img.float().clamp(0, 1) * 255).round().to(torch.uint8)
    if img.shape[-2:] != (size, size):
        img = F.interpolate(img.float(), size=(size, size), mode='bilinear',
                            align_corners=False).round().clamp(0, 255).to(torch.uint8)
    return list(img)


def make_image_grid(rows: Sequence[Sequence[torch.Tensor]], tile: int = 128,
                    pad: int = 2) -> np.ndarray:
    """Tile images into an ``(H, W, 3)`` uint8 RGB grid, one row per sample.

    Args:
        rows: For each sample, its images in column order; each is
            ``(3, H, W)``, ``(K, 3, H, W)`` (K tiles side by side) or a
            single-channel mask.
        tile: Side of each tile in pixels.
        pad: Gap between tiles.
    """
    tiled_rows = [[t for img in row for t in _as_tiles(img, tile)] for row in rows]
    ncols = max(len(r) for r in tiled_rows)
    h = len(tiled_rows) * (tile + pad) + pad
    w = ncols * (tile + pad) + pad
    canvas = np.full((h, w, 3), 255, dtype=np.uint8)
    for i, row in enumerate(tiled_rows):
        for j, t in enumerate(row):
            y, x = pad + i * (tile + pad), pad + j * (tile + pad)
            canvas[y:y + tile, x:x + tile] = t.permute(1, 2, 0).numpy()
    return canvas


@VISUALIZERS.register_module()
class HeadSwapVisualizer(Visualizer):
    """Writes image grids of data samples to every visualisation backend."""

    def add_datasample(self, name: str, image: Optional[np.ndarray] = None,
                       data_sample=None, draw_gt: bool = True, draw_pred: bool = True,
                       show: bool = False, wait_time: float = 0, out_file: Optional[str] = None,
                       step: int = 0, keys: Sequence[str] = (), tile: int = 128) -> np.ndarray:
        """Draw ``keys`` of one data sample (or a list of them) as a grid.

        Returns the grid ``(H, W, 3)`` RGB. With ``out_file`` the grid is
        written there instead of to the backends.
        """
        samples = data_sample if isinstance(data_sample, (list, tuple)) else [data_sample]
        rows = []
        for sample in samples:
            row = [sample.get(k) for k in keys if sample is not None and sample.get(k) is not None]
            if row:
                rows.append(row)
        if not rows:
            raise ValueError(f'none of the keys {list(keys)} is in the data samples')
        grid = make_image_grid(rows, tile=tile)
        if show:
            self.show(grid, win_name=name, wait_time=wait_time)
        if out_file is not None:
            import mmcv
            mmcv.imwrite(grid[..., ::-1], out_file)
        else:
            self.add_image(name, grid, step)
        return grid
