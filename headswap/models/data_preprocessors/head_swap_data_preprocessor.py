from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.model import BaseDataPreprocessor

from headswap.errors import UserError
from headswap.registry import MODELS
from headswap.structures.pixels import normalize_pixels

__all__ = ['HeadSwapDataPreprocessor']

_IMAGES = ('source_imgs', 'target_img')


def _describe(samples: Optional[Sequence], i: int) -> str:
    meta = samples[i].metainfo if samples is not None and i < len(samples) else {}
    where = '/'.join(str(meta[k]) for k in ('identity', 'video', 'clip') if k in meta)
    if 'frame' in meta:
        where = f'{where} frame {meta["frame"]}'.strip()
    return f'sample {i} ({where})' if where else f'sample {i}'


@MODELS.register_module()
class HeadSwapDataPreprocessor(BaseDataPreprocessor):
    """Batch and normalise full-swap samples for :class:`HeadSwapper` (``PackHeadSwapInputs``).

    ``inputs``: ``source_imgs`` ``(K, 3, h, w)`` uint8 (K the same within a batch),
    ``target_img`` ``(3, S, S)`` uint8, ``target_parsing`` ``(1, S, S)`` integer
    labels and optionally ``target_landmarks`` ``(68, 2)``; per-sample lists or
    stacked tensors. Returns them stacked on the model's device, images in
    [-1, 1] (``(B, K, 3, h, w)``, ``(B, 3, S, S)``), labels long ``(B, 1, S, S)``.
    """

    @staticmethod
    def normalize(img: torch.Tensor) -> torch.Tensor:
        """uint8 [0, 255] -> float [-1, 1]: the models' input scale, also for callers that
        batch crops themselves (the inference frame pipeline)."""
        return normalize_pixels(img)

    def __init__(self, non_blocking: bool = False):
        super().__init__(non_blocking=non_blocking)

    @staticmethod
    def _stack(key: str, items: Union[torch.Tensor, List[torch.Tensor]], samples,
               dims: int) -> torch.Tensor:
        if isinstance(items, torch.Tensor) and items.dim() == dims + 1:
            return items
        if isinstance(items, torch.Tensor):
            items = list(items)
        for i, x in enumerate(items):
            if not isinstance(x, torch.Tensor) or x.dim() != dims:
                shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
                raise UserError(f'{key} of {_describe(samples, i)} is {shape}; expected a '
                                f'{dims}-d tensor (PackHeadSwapInputs, docs/en/data_format.md)')
            if x.shape != items[0].shape:
                raise UserError(f'{key} of {_describe(samples, i)} is {tuple(x.shape)} but '
                                f'sample 0 is {tuple(items[0].shape)} (K and sizes must match '
                                'within a batch)')
        return torch.stack(list(items))

    def forward(self, data: dict, training: bool = False) -> dict:
        samples = data.get('data_samples')
        raw = data['inputs']
        if isinstance(raw, (list, tuple)):
            raw = {k: [item[k] for item in raw] for k in raw[0]}
        missing = [k for k in (*_IMAGES, 'target_parsing') if k not in raw]
        if missing:
            raise UserError(f'full-swap inputs lack {missing} (have {sorted(raw)}); pack them '
                            'with PackHeadSwapInputs')
        batch: Dict[str, torch.Tensor] = dict(
            source_imgs=self._stack('source_imgs', raw['source_imgs'], samples, 4),
            target_img=self._stack('target_img', raw['target_img'], samples, 3),
            target_parsing=self._stack('target_parsing', raw['target_parsing'], samples, 3))
        if raw.get('target_landmarks') is not None:
            batch['target_landmarks'] = self._stack('target_landmarks', raw['target_landmarks'],
                                                    samples, 2).float()
        for key in _IMAGES:
            if batch[key].dtype != torch.uint8:
                raise UserError(f'{key} is {batch[key].dtype}; images are uint8 RGB')
        if batch['source_imgs'].shape[1] == 0:
            raise UserError('source_imgs: K = 0 source images')
        if batch['target_parsing'].shape[-2:] != batch['target_img'].shape[-2:]:
            raise UserError(f'target_parsing is {tuple(batch["target_parsing"].shape[-2:])} but '
                            f'target_img is {tuple(batch["target_img"].shape[-2:])}')
        batch = self.cast_data(batch)
        inputs = {k: self.normalize(v) if k in _IMAGES else v
                  for k, v in batch.items()}
        inputs['target_parsing'] = inputs['target_parsing'].long()
        if samples is not None:
            samples = self.cast_data(samples)
        return dict(inputs=inputs, data_samples=samples)
