from typing import Sequence

from mmcv.transforms import BaseTransform

from headswap.registry import TRANSFORMS
from headswap.structures import HeadSwapDataSample
from .frame_io import to_image_tensor, to_label_tensor

__all__ = ['PackHead2SceneInputs']

_IMAGES = ('target_img', 'head_img', 'other_img')
_LABELS = ('target_parsing', 'head_parsing', 'other_parsing')


@TRANSFORMS.register_module()
class PackHead2SceneInputs(BaseTransform):
    """Pack a stage-2 sample (docs/en/data_format.md).

    Returns ``dict(inputs=dict(target_img, head_img, other_img: (3, H, W) uint8;
    target_parsing, head_parsing, other_parsing: (1, H, W) long),
    data_samples=HeadSwapDataSample)`` with ``gt_img`` = I_T and metainfo
    ``identity``, ``video``, ``clip``, ``frame``, ``other_frame``
    (``'video/clip/frame'``), ``img_path``, ``flip``.

    ``head_img`` / ``head_parsing`` (I_A) are made by the stage-2 synthesis
    transforms, which must run before this one; ``strict=False`` packs a
    sample without them (dataset browsing, tests of the loading part).

    Args:
        strict: Require ``head_img`` and ``head_parsing``.
        meta_keys: Extra result keys copied into the metainfo when present.
    """

    def __init__(self, strict: bool = True, meta_keys: Sequence[str] = ()):
        self.strict = strict
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        missing = [k for k in ('head_img', 'head_parsing') if k not in results]
        if self.strict and missing:
            raise KeyError(f'PackHead2SceneInputs: {missing} not in the sample; put the stage-2 '
                           'synthesis transform (which makes I_A from the target) before it, '
                           'or set strict=False')
        inputs = {k: to_image_tensor(results[k]) for k in _IMAGES if k in results}
        inputs.update({k: to_label_tensor(results[k]) for k in _LABELS if k in results})
        other = results.get('other', {})
        meta = dict(identity=results['identity'], video=results['video'], clip=results['clip'],
                    frame=results['frame'], img_path=results.get('img_path'),
                    flip=results.get('flip', False),
                    other_frame=f'{other["video"]}/{other["clip"]}/{other["frame"]:06d}'
                    if other else None)
        meta.update({k: results[k] for k in self.meta_keys if k in results})
        sample = HeadSwapDataSample(metainfo=meta)
        sample.gt_img = to_image_tensor(results['target_img'])
        return dict(inputs=inputs, data_samples=sample)
