from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from headswap.registry import TRANSFORMS
from headswap.structures import HeadSwapDataSample
from headswap.structures.face_labels import head_mask
from .frame_io import to_image_tensor

__all__ = ['PackHead2HeadInputs']


@TRANSFORMS.register_module()
class PackHead2HeadInputs(BaseTransform):
    """Pack a stage-1 sample (docs/en/data_format.md).

    Returns ``dict(inputs=dict(source_imgs=(K, 3, H, W) uint8, driver_img=(3, H, W)
    uint8), data_samples=HeadSwapDataSample)`` with data fields ``gt_img``
    ``(3, H, W)`` uint8, ``gt_mask`` ``(1, H, W)`` float32 (head labels of
    ``gt_parsing``: skin to lower lip, hair, hat; when loaded) and
    ``gt_landmarks`` ``(68, 2)`` float32 (when present), and metainfo
    ``identity``, ``video``, ``clip``, ``frame``, ``source_frames``
    (``'video/clip/frame'`` strings), ``num_sources``, ``img_path``, ``flip``.

    Args:
        meta_keys: Extra result keys copied into the metainfo when present.
    """

    def __init__(self, meta_keys: Sequence[str] = ()):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        sources = results['source_imgs']
        if len(sources) == 0:
            raise ValueError('PackHead2HeadInputs: the sample has no source images')
        inputs = dict(source_imgs=to_image_tensor(np.stack(sources)),
                      driver_img=to_image_tensor(results['driver_img']))
        meta = dict(identity=results['identity'], video=results['video'], clip=results['clip'],
                    frame=results['frame'], img_path=results.get('img_path'),
                    num_sources=len(sources), flip=results.get('flip', False),
                    source_frames=[f'{s["video"]}/{s["clip"]}/{s["frame"]:06d}'
                                   for s in results.get('sources', [])])
        meta.update({k: results[k] for k in self.meta_keys if k in results})
        sample = HeadSwapDataSample(metainfo=meta)
        sample.gt_img = to_image_tensor(results['gt_img'])
        if 'gt_parsing' in results:
            sample.gt_mask = torch.from_numpy(head_mask(results['gt_parsing'])).float()[None]
        if 'gt_landmarks' in results:
            sample.gt_landmarks = torch.from_numpy(np.asarray(results['gt_landmarks'],
                                                              np.float32))
        return dict(inputs=inputs, data_samples=sample)
