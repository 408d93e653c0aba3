"""Synthetic stage-2 data for the tests: face-like parsing layouts and packed samples.

Lives under tests/ on purpose: nothing here is part of headswap. The frames
are drawn from the sample index (numpy's ``default_rng(idx)``); the synthesis
transforms in the pipeline draw from numpy's global generator, so the resume
tests see the random state restored.
"""
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.dataset import BaseDataset

from headswap.registry import DATASETS
from headswap.structures import HeadSwapDataSample

HEAD_LABELS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 17, 18]

# a colour per CelebAMask-HQ label (docs/en/data_format.md)
_COLORS = np.array([
    [90, 140, 200], [225, 180, 150], [60, 40, 30], [60, 40, 30], [40, 60, 90], [40, 60, 90],
    [20, 20, 20], [215, 165, 140], [215, 165, 140], [230, 200, 60], [210, 150, 130],
    [120, 40, 40], [190, 90, 90], [180, 80, 80], [220, 170, 145], [240, 220, 40], [50, 80, 60],
    [80, 50, 30], [30, 30, 120]], dtype=np.float32)


def face_layout(size: int, rng: np.random.Generator, shift: Tuple[float, float] = (0., 0.)
                ) -> np.ndarray:
    """An HxW uint8 CelebAMask-HQ-like label map: background, cloth, neck, hair, face parts."""
    s = size
    lab = np.zeros((s, s), np.uint8)
    cx = s * (0.5 + rng.uniform(-0.04, 0.04) + shift[0])
    cy = s * (0.45 + rng.uniform(-0.04, 0.04) + shift[1])
    fw, fh = s * rng.uniform(0.18, 0.24), s * rng.uniform(0.24, 0.3)

    def ellipse(center, axes, label):
        cv2.ellipse(lab, (int(round(center[0])), int(round(center[1]))),
                    (max(1, int(round(axes[0]))), max(1, int(round(axes[1])))), 0, 0, 360,
                    int(label), -1)

    lab[int(s * 0.85):] = 16  # cloth
    lab[int(cy + fh * 0.6):int(s * 0.9), int(cx - fw * 0.5):int(cx + fw * 0.5)] = 14  # neck
    ellipse((cx, cy - fh * 0.35), (fw * 1.2, fh * 0.8), 17)  # hair
    ellipse((cx - fw, cy), (fw * 0.18, fh * 0.2), 7)  # ears
    ellipse((cx + fw, cy), (fw * 0.18, fh * 0.2), 8)
    ellipse((cx, cy + fh * 0.1), (fw, fh), 1)  # skin
    for side, eye, brow in ((-1, 4, 2), (1, 5, 3)):
        ellipse((cx + side * fw * 0.4, cy - fh * 0.25), (fw * 0.25, fh * 0.05), brow)
        ellipse((cx + side * fw * 0.4, cy - fh * 0.1), (fw * 0.18, fh * 0.07), eye)
    ellipse((cx, cy + fh * 0.15), (fw * 0.12, fh * 0.2), 10)  # nose
    ellipse((cx, cy + fh * 0.5), (fw * 0.35, fh * 0.06), 12)  # lips
    ellipse((cx, cy + fh * 0.6), (fw * 0.3, fh * 0.06), 13)
    return lab


def render(lab: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An HxWx3 uint8 RGB image for a label map: label colours, a gradient and noise."""
    s = lab.shape[0]
    img = _COLORS[lab] * rng.uniform(0.85, 1.15, size=3).astype(np.float32)
    ramp = np.linspace(-20, 20, s, dtype=np.float32)
    img += ramp[:, None, None] + rng.normal(0, 8, size=img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def pack(results: dict, meta: dict) -> dict:
    """Pack a transform result like PackHead2SceneInputs (docs/en/data_format.md)."""
    inputs = {}
    for key in ('target', 'head', 'other'):
        if f'{key}_img' in results:
            inputs[f'{key}_img'] = torch.from_numpy(
                np.ascontiguousarray(results[f'{key}_img'].transpose(2, 0, 1)))
            inputs[f'{key}_parsing'] = torch.from_numpy(results[f'{key}_parsing'][None].copy())
    sample = HeadSwapDataSample(metainfo=meta)
    sample.gt_img = inputs['target_img'].clone()
    return dict(inputs=inputs, data_samples=sample)


@DATASETS.register_module()
class ToyHead2SceneDataset(BaseDataset):
    """``num`` synthetic videos: a target frame and another frame (slightly moved) each.

    Args:
        num: Number of samples.
        size: Image side.
        pipeline: Transforms applied to the stage-2 transform results
            (``target_img``, ``target_parsing``, ``other_img``, ``other_parsing``)
            before packing.
    """

    def __init__(self, num: int = 8, size: int = 64, pipeline: Optional[Sequence] = None,
                 **kwargs):
        self.num, self.size = num, size
        super().__init__(ann_file='', serialize_data=False, pipeline=[], **kwargs)
        self.synthesis = Compose(list(pipeline or []))

    def load_data_list(self) -> List[dict]:
        return [dict(idx=i) for i in range(self.num)]

    def prepare_data(self, idx: int) -> dict:
        rng = np.random.default_rng(idx)
        target_lab = face_layout(self.size, rng)
        other_lab = face_layout(self.size, rng, shift=(0.03, 0.01))
        results = dict(target_img=render(target_lab, rng), target_parsing=target_lab,
                       other_img=render(other_lab, rng), other_parsing=other_lab)
        results = self.synthesis(results)
        return pack(results, dict(identity=f'id{idx:05d}', video='toy', clip='00001',
                                  frame=0))
