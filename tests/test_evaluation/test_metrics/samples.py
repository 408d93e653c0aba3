"""Data samples as mmengine's Evaluator hands them to metrics (dicts), from the bundled frames."""
import glob
import os.path as osp

import cv2
import numpy as np
import torch

from headswap.structures import HeadSwapDataSample

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def real_frames(size: int = 64, video: str = 'pristine', num: int = 8) -> torch.Tensor:
    """``(num, 3, size, size)`` uint8 frames of the bundled sample."""
    paths = sorted(glob.glob(osp.join(ROOT, f'data/sample/frames/carphone/{video}/*/*.jpg')))
    imgs = [cv2.resize(cv2.imread(p)[..., ::-1], (size, size), interpolation=cv2.INTER_AREA)
            for p in paths[:num]]
    return torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).contiguous()


def sample_dict(**fields) -> dict:
    """A HeadSwapDataSample with ``fields`` (tensors as data, the rest as metainfo) as a dict."""
    meta = {k: v for k, v in fields.items() if not torch.is_tensor(v)}
    sample = HeadSwapDataSample(metainfo=meta)
    for k, v in fields.items():
        if torch.is_tensor(v):
            sample.set_field(v, k)
    return sample.to_dict()


def evaluate(metric, samples, batch_size: int = 2) -> dict:
    """Run ``metric`` over ``samples`` in batches, as the Evaluator does."""
    for i in range(0, len(samples), batch_size):
        metric.process({}, samples[i:i + batch_size])
    return metric.evaluate(len(samples))
