from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from headswap.registry import TRANSFORMS
from headswap.structures import HeadSwapDataSample
from .frame_io import to_image_tensor, to_label_tensor

__all__ = ['PackHeadSwapInputs']

# result key of each input, by preference: the full-swap names, then the stage-1 names
# (LoadHead2HeadFrames(with_parsing=True): same-identity swaps where T is the driver)
_ALIASES = dict(target_img=('target_img', 'driver_img'),
                target_parsing=('target_parsing', 'gt_parsing'),
                target_landmarks=('target_landmarks', 'gt_landmarks'))


def _first(results: dict, key: str):
    for name in _ALIASES[key]:
        if name in results:
            return results[name]
    return None


@TRANSFORMS.register_module()
class PackHeadSwapInputs(BaseTransform):
    """Pack a full-swap sample for :class:`HeadSwapper` (docs/en/data_format.md).

    Returns ``dict(inputs=dict(source_imgs=(K, 3, h, w) uint8, target_img=(3, S, S)
    uint8, target_parsing=(1, S, S) long[, target_landmarks=(68, 2) float32]),
    data_samples=HeadSwapDataSample)``; the data sample holds ``gt_img`` when the
    results have one (a same-identity swap: the target itself) and the metainfo
    ``identity``, ``video``, ``clip``, ``frame``, ``img_path``, ``num_sources``,
    ``source_frames``. The target is read from ``target_*`` keys, else from the
    stage-1 keys ``driver_img`` / ``gt_parsing`` / ``gt_landmarks``, so
    ``LoadHead2HeadFrames(with_parsing=True)`` feeds it directly.

    Args:
        meta_keys: Extra result keys copied into the metainfo when present.
    """

    def __init__(self, meta_keys: Sequence[str] = ()):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        sources = results.get('source_imgs')
        if not sources:
            raise ValueError('PackHeadSwapInputs: the sample has no source images')
        target, parsing = _first(results, 'target_img'), _first(results, 'target_parsing')
        if target is None or parsing is None:
            raise KeyError(f'PackHeadSwapInputs needs target_img (or driver_img) and '
                           f'target_parsing (or gt_parsing); have {sorted(results)}')
        inputs = dict(source_imgs=to_image_tensor(np.stack(sources)),
                      target_img=to_image_tensor(target),
                      target_parsing=to_label_tensor(parsing))
        landmarks = _first(results, 'target_landmarks')
        if landmarks is not None:
            inputs['target_landmarks'] = torch.from_numpy(np.asarray(landmarks, np.float32))
        meta = {k: results[k] for k in ('identity', 'video', 'clip', 'frame', 'img_path')
                if k in results}
        meta.update(num_sources=len(sources),
                    source_frames=[f'{s["video"]}/{s["clip"]}/{s["frame"]:06d}'
                                   for s in results.get('sources', [])])
        meta.update({k: results[k] for k in self.meta_keys if k in results})
        sample = HeadSwapDataSample(metainfo=meta)
        if 'gt_img' in results:
            sample.gt_img = to_image_tensor(results['gt_img'])
        return dict(inputs=inputs, data_samples=sample)
