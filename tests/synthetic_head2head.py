"""A synthetic stage-1 dataset for tests: packed samples exactly per docs/en/data_format.md.

Lives under tests/ on purpose (the real ``Head2HeadDataset`` reads prepared
video frames). Each identity is a head of its own colours on its own
background; each frame moves and turns the head and opens the mouth by a
different amount, so pose and expression vary within an identity. Source
frames are drawn with numpy's global generator (restored on resume).
"""
from typing import List

import numpy as np
import torch
from mmengine.dataset import BaseDataset

from headswap.registry import DATASETS
from headswap.structures import HeadSwapDataSample


def render_frame(identity: int, frame: int, size: int) -> tuple:
    """An ``(H, W, 3)`` uint8 portrait and its ``(H, W)`` bool head mask."""
    rng = np.random.default_rng(1000 + identity)
    skin, hair, bg0, bg1 = (rng.integers(40, 230, 3) for _ in range(4))
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    phase = frame * 0.9
    cx, cy = 0.5 + 0.08 * np.sin(phase), 0.52 + 0.05 * np.cos(1.3 * phase)
    angle = 0.3 * np.sin(0.7 * phase)
    c, s = np.cos(angle), np.sin(angle)
    u, v = (x - cx) * c + (y - cy) * s, -(x - cx) * s + (y - cy) * c
    head = (u / 0.24)**2 + (v / 0.3)**2 <= 1
    hair_mask = head & (v < -0.12)
    eyes = (((u - 0.08) / 0.04)**2 + ((v + 0.04) / 0.03)**2 <= 1) | \
        (((u + 0.08) / 0.04)**2 + ((v + 0.04) / 0.03)**2 <= 1)
    mouth_open = 0.01 + 0.03 * (0.5 + 0.5 * np.sin(2.1 * phase))
    mouth = ((u / 0.08)**2 + ((v - 0.14) / mouth_open)**2 <= 1)
    t = y[..., None]
    img = (bg0 * (1 - t) + bg1 * t).astype(np.float32)
    img[head] = skin
    img[hair_mask] = hair
    img[head & eyes] = (20, 20, 30)
    img[head & mouth] = (150, 30, 40)
    return img.clip(0, 255).astype(np.uint8), head


@DATASETS.register_module()
class SyntheticHead2HeadDataset(BaseDataset):
    """``num_identities * frames`` target frames; K sources from the same identity.

    Args:
        num_identities: Number of identities.
        frames: Frames per identity (video).
        num_sources: K, source frames per sample (other frames of the video).
        size: Image side.
        with_mask: Whether samples carry ``gt_mask``.
    """

    def __init__(self, num_identities: int = 2, frames: int = 4, num_sources: int = 2,
                 size: int = 32, with_mask: bool = True, **kwargs):
        self.num_identities, self.frames = num_identities, frames
        self.num_sources, self.size, self.with_mask = num_sources, size, with_mask
        kwargs.pop('pipeline', None)
        super().__init__(ann_file='', serialize_data=False, **kwargs)

    def load_data_list(self) -> List[dict]:
        return [dict(identity=i, frame=f) for i in range(self.num_identities)
                for f in range(self.frames)]

    def prepare_data(self, idx: int) -> dict:
        info = self.get_data_info(idx)
        ident, frame = info['identity'], info['frame']
        others = [f for f in range(self.frames) if f != frame] or [frame]
        picks = np.random.choice(len(others), self.num_sources,
                                 replace=len(others) < self.num_sources)
        source_frames = [others[i] for i in picks]
        target, head = render_frame(ident, frame, self.size)
        sources = np.stack([render_frame(ident, f, self.size)[0] for f in source_frames])
        sample = HeadSwapDataSample(metainfo=dict(
            identity=f'id{ident:05d}', video='synthetic', clip='00001', frame=frame,
            source_frames=source_frames))
        sample.gt_img = torch.from_numpy(target).permute(2, 0, 1).contiguous()
        if self.with_mask:
            sample.gt_mask = torch.from_numpy(head[None].astype(np.float32))
        inputs = dict(source_imgs=torch.from_numpy(sources).permute(0, 3, 1, 2).contiguous(),
                      driver_img=sample.gt_img.clone())
        return dict(inputs=inputs, data_samples=sample)
