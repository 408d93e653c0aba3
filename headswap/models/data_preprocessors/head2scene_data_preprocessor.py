from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.model import BaseDataPreprocessor

from headswap.errors import UserError
from headswap.registry import MODELS
from headswap.structures.face_labels import label_lut_tensor
from headswap.structures.pixels import normalize_pixels

__all__ = ['Head2SceneDataPreprocessor']

# image key -> its parsing key (docs/en/data_format.md, stage 2)
_PAIRS = {'target_img': 'target_parsing', 'head_img': 'head_parsing',
          'other_img': 'other_parsing'}
_REQUIRED = ('target_img', 'head_img')


def _describe(samples: Optional[Sequence], i: int) -> str:
    """``sample i (identity/video/clip frame N)`` from a data sample's metainfo."""
    meta = samples[i].metainfo if samples is not None and i < len(samples) else {}
    where = '/'.join(str(meta[k]) for k in ('identity', 'video', 'clip') if k in meta)
    if 'frame' in meta:
        where = f'{where} frame {meta["frame"]}'.strip()
    where = where or meta.get('img_path', '')
    return f'sample {i} ({where})' if where else f'sample {i}'


@MODELS.register_module()
class Head2SceneDataPreprocessor(BaseDataPreprocessor):
    """Checks, batches and normalises the inputs of :class:`Head2SceneBlender`.

    Takes packed stage-2 samples (docs/en/data_format.md): ``inputs`` with
    ``target_img``, ``target_parsing``, ``head_img``, ``head_parsing`` and, for
    training, ``other_img``, ``other_parsing`` (uint8 ``(3, H, W)`` images,
    ``(1, H, W)`` or ``(H, W)`` label maps), either as a dict of per-sample
    lists (mmengine's ``pseudo_collate``), a list of dicts, or already stacked.
    Returns ``inputs`` as a dict of ``(B, 3, H, W)`` float images in [-1, 1] and
    ``(B, 1, H, W)`` long parsing maps on the model's device.

    Checked on the CPU before the copy to the device, each failure naming the
    key and the sample (identity/video/clip/frame): a parsing map whose size
    differs from its image, label ids outside ``[0, num_classes)``, samples of
    different sizes, non-uint8 images, and a head parsing without any of
    ``head_labels``. The last one raises when ``empty_head='error'``; with
    ``'keep_target'`` the sample passes and the blender returns T unchanged
    for it (its edit region is empty, see :class:`BlendingMasks`).

    Args:
        head_labels: Labels of the head (the same config entry as the model's).
        num_classes: Number of parsing labels (19 for CelebAMask-HQ).
        empty_head: ``'error'`` or ``'keep_target'``.
        non_blocking: Asynchronous host-to-device copies.
    """

    def __init__(self, head_labels: Sequence[int], num_classes: int = 19,
                 empty_head: str = 'error', non_blocking: bool = False):
        super().__init__(non_blocking=non_blocking)
        if empty_head not in ('error', 'keep_target'):
            raise ValueError(f"empty_head must be 'error' or 'keep_target', got {empty_head!r}")
        bad = [lab for lab in head_labels if not 0 <= int(lab) < num_classes]
        if bad or not len(head_labels):
            raise ValueError(f'head_labels {list(head_labels)} must be non-empty ids in '
                             f'[0, {num_classes})')
        self.num_classes = int(num_classes)
        self.head_labels = [int(lab) for lab in head_labels]
        self.empty_head = empty_head

    @staticmethod
    def _as_dict_of_lists(inputs: Union[dict, list]) -> Dict[str, List[torch.Tensor]]:
        if isinstance(inputs, (list, tuple)):
            keys = inputs[0].keys()
            return {k: [item[k] for item in inputs] for k in keys}
        if not isinstance(inputs, dict):
            raise TypeError(f'stage-2 inputs must be a dict or a list of dicts, got '
                            f'{type(inputs).__name__}')
        return {k: list(v) if isinstance(v, (list, tuple, torch.Tensor)) else v
                for k, v in inputs.items()}

    def _stack(self, key: str, items: List[torch.Tensor], samples, parsing: bool
               ) -> torch.Tensor:
        out = []
        for i, x in enumerate(items):
            if not isinstance(x, torch.Tensor):
                raise UserError(f'{key} of {_describe(samples, i)} is a {type(x).__name__}, '
                                'expected a tensor (use PackHead2SceneInputs)')
            if parsing:
                if x.dim() == 2:
                    x = x[None]
                if x.dim() != 3 or x.shape[0] != 1:
                    raise UserError(f'{key} of {_describe(samples, i)} has shape '
                                    f'{tuple(x.shape)}; expected (1, H, W) or (H, W) labels')
                if x.is_floating_point():
                    raise UserError(f'{key} of {_describe(samples, i)} is {x.dtype}; parsing '
                                    'maps hold integer label ids')
            else:
                if x.dim() != 3 or x.shape[0] != 3:
                    raise UserError(f'{key} of {_describe(samples, i)} has shape '
                                    f'{tuple(x.shape)}; expected a (3, H, W) RGB image')
                if x.dtype != torch.uint8:
                    raise UserError(f'{key} of {_describe(samples, i)} is {x.dtype}; images '
                                    'must be uint8 RGB (docs/en/data_format.md)')
            if out and x.shape != out[0].shape:
                raise UserError(f'{key} of {_describe(samples, i)} is {tuple(x.shape)} but '
                                f'sample 0 is {tuple(out[0].shape)}; resize the dataset to '
                                'one resolution')
            out.append(x)
        return torch.stack(out)

    def _validate(self, batch: Dict[str, torch.Tensor], samples) -> None:
        for img_key, lab_key in _PAIRS.items():
            if img_key not in batch:
                continue
            img, lab = batch[img_key], batch[lab_key]
            if img.shape[-2:] != lab.shape[-2:]:
                raise UserError(
                    f'{lab_key} is {lab.shape[-2]}x{lab.shape[-1]} but {img_key} is '
                    f'{img.shape[-2]}x{img.shape[-1]} ({_describe(samples, 0)} and the rest '
                    'of the batch); the parsing map must have the size of its image')
            bad = (lab < 0) | (lab >= self.num_classes)
            if bad.any():
                i = int(bad.flatten(1).any(1).nonzero()[0])
                ids = sorted(set(lab[i][bad[i]].tolist()))[:10]
                raise UserError(f'{lab_key} of {_describe(samples, i)} has label ids {ids} '
                                f'outside [0, {self.num_classes}) (num_classes of the data '
                                'preprocessor); check the parsing model and its classes')
        lut = label_lut_tensor(self.head_labels, size=self.num_classes)
        has_head = lut[batch['head_parsing'].long()].flatten(1).any(1)
        if self.empty_head == 'error' and not bool(has_head.all()):
            i = int((~has_head).nonzero()[0])
            raise UserError(f'head_parsing of {_describe(samples, i)} has no head pixel (no '
                            f'label of head_labels={self.head_labels}); fix or drop the frame, '
                            "or set empty_head='keep_target' to pass the target through")

    def forward(self, data: dict, training: bool = False) -> dict:
        """``{'inputs': ..., 'data_samples': [...]}`` -> normalised batch on the device."""
        samples = data.get('data_samples')
        raw = self._as_dict_of_lists(data['inputs'])
        missing = [k for k in (*_REQUIRED, *(_PAIRS[k] for k in _REQUIRED)) if k not in raw]
        if ('other_img' in raw) != ('other_parsing' in raw):
            missing.append('other_parsing' if 'other_img' in raw else 'other_img')
        if missing:
            raise UserError(f'stage-2 inputs lack {missing} (have {sorted(raw)}); see '
                            'docs/en/data_format.md')
        batch = {}
        for img_key, lab_key in _PAIRS.items():
            if img_key in raw:
                batch[img_key] = self._stack(img_key, raw[img_key], samples, parsing=False)
                batch[lab_key] = self._stack(lab_key, raw[lab_key], samples, parsing=True)
        for key in batch:
            if batch[key].shape[0] != batch['target_img'].shape[0]:
                raise UserError(f'{key} has {batch[key].shape[0]} samples, target_img '
                                f'{batch["target_img"].shape[0]}')
        self._validate({k: v.cpu() for k, v in batch.items()}, samples)
        batch = self.cast_data(batch)
        inputs = {k: normalize_pixels(v) if k in _PAIRS else v.long()
                  for k, v in batch.items()}
        if samples is not None:
            samples = self.cast_data(samples)
        return dict(inputs=inputs, data_samples=samples)
