from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.model import BaseDataPreprocessor

from headswap.errors import UserError
from headswap.registry import MODELS
from headswap.structures.pixels import normalize_landmarks, normalize_pixels

__all__ = ['Head2HeadDataPreprocessor']

Images = Union[torch.Tensor, Sequence[torch.Tensor]]


def _describe(sample, index: int) -> str:
    """``sample 3 (id00017/01dfn2spqyE/00001 frame 12)`` for error messages."""
    meta = getattr(sample, 'metainfo', {}) or {}
    where = '/'.join(str(meta[k]) for k in ('identity', 'video', 'clip') if k in meta)
    if 'frame' in meta:
        where = f'{where} frame {meta["frame"]}'.strip()
    return f'sample {index}' + (f' ({where})' if where else '')


@MODELS.register_module()
class Head2HeadDataPreprocessor(BaseDataPreprocessor):
    """Batch and normalise stage-1 samples (``docs/en/data_format.md``).

    Takes what ``PackHead2HeadInputs`` produces, collated into lists:
    ``inputs = {'source_imgs': [(K, 3, H, W) uint8, ...], 'driver_img':
    [(3, H, W) uint8, ...]}`` and ``HeadSwapDataSample``s with ``gt_img``
    ``(3, H, W)`` uint8 and optionally ``gt_mask`` ``(1, H, W)`` float.
    Already-batched tensors (``(B, K, 3, H, W)`` / ``(B, 3, H, W)``) are
    accepted too. Moves everything to the model's device (uint8, so 4x less
    to copy), then maps images to [-1, 1].

    Returns ``{'inputs': {'source_imgs': (B, K, 3, H, W), 'driver_img':
    (B, 3, H, W)[, 'driver_landmarks': (B, 68, 2)]}, 'data_samples': [...],
    'targets': {'gt_img': (B, 3, H, W), 'gt_mask': (B, 1, H, W)}}``; a target (and
    ``driver_landmarks``, the samples' ``gt_landmarks`` in [0, 1] of the image
    side) is present only when every sample has it. Data samples keep their
    uint8 images for hooks and metrics.

    Args:
        resolution: Side every image must have; the aligner sets it to its
            generator's output size. None disables the check.
        non_blocking: Asynchronous host-to-device copies.

    Raises:
        UserError: K = 0, different K within a batch, images of another size
            than ``resolution``, wrong channels or dtype; the message names the
            sample.
    """

    def __init__(self, resolution: Optional[int] = None, non_blocking: bool = True):
        super().__init__(non_blocking=non_blocking)
        self.resolution = resolution

    def _check_image(self, img: torch.Tensor, what: str, where: str) -> None:
        if img.dtype != torch.uint8:
            raise UserError(f'{where}: {what} has dtype {img.dtype}; stage-1 inputs are uint8 '
                            'RGB images (docs/en/data_format.md)')
        if img.shape[-3] != 3:
            raise UserError(f'{where}: {what} has {img.shape[-3]} channels, expected 3 (RGB) '
                            f'in shape {tuple(img.shape)}')
        size = tuple(img.shape[-2:])
        if self.resolution is not None and size != (self.resolution, self.resolution):
            raise UserError(
                f'{where}: {what} is {size[0]}x{size[1]} but the model is configured for '
                f'{self.resolution}x{self.resolution} (model.generator.out_resolution); resize '
                'the data (dataset pipeline) or use a config of matching resolution')

    def _stack_sources(self, sources: Images, samples: list) -> torch.Tensor:
        if isinstance(sources, torch.Tensor):
            if sources.dim() != 5:
                raise UserError(f'source_imgs: expected a (B, K, 3, H, W) batch or a list of '
                                f'(K, 3, H, W) stacks, got shape {tuple(sources.shape)}')
            if sources.shape[1] == 0:
                raise UserError('source_imgs: K = 0 source images; each sample needs at '
                                'least one source image (dataset num_sources >= 1)')
            self._check_image(sources, 'source_imgs', 'batch')
            return sources
        if len(sources) == 0:
            raise UserError('empty batch: no source_imgs')
        ks = []
        for i, src in enumerate(sources):
            where = _describe(samples[i] if i < len(samples) else None, i)
            if src.dim() != 4:
                raise UserError(f'{where}: source_imgs must be (K, 3, H, W), got shape '
                                f'{tuple(src.shape)}')
            if src.shape[0] == 0:
                raise UserError(f'{where}: K = 0 source images; each sample needs at least '
                                'one source image (dataset num_sources >= 1)')
            self._check_image(src, 'source_imgs', where)
            ks.append(src.shape[0])
        if len(set(ks)) > 1:
            raise UserError(f'source_imgs: K differs within the batch ({ks}); K may change '
                            'between batches but must be the same for every sample of one '
                            'batch')
        return torch.stack(list(sources))

    def _stack_single(self, imgs: Images, what: str, samples: list) -> torch.Tensor:
        if isinstance(imgs, torch.Tensor) and imgs.dim() == 4:
            self._check_image(imgs, what, 'batch')
            return imgs
        for i, img in enumerate(imgs):
            where = _describe(samples[i] if i < len(samples) else None, i)
            if img.dim() != 3:
                raise UserError(f'{where}: {what} must be (3, H, W), got shape '
                                f'{tuple(img.shape)}')
            self._check_image(img, what, where)
        return torch.stack(list(imgs))

    @staticmethod
    def normalize(img: torch.Tensor) -> torch.Tensor:
        """uint8 [0, 255] -> float [-1, 1]."""
        return normalize_pixels(img)

    def forward(self, data: dict, training: bool = False) -> dict:
        inputs = data.get('inputs')
        if not isinstance(inputs, dict) or not {'source_imgs', 'driver_img'} <= set(inputs):
            got = sorted(inputs) if isinstance(inputs, dict) else type(inputs).__name__
            raise UserError(f'stage-1 inputs must be a dict with source_imgs and driver_img '
                            f'(PackHead2HeadInputs), got {got}')
        samples: List = list(data.get('data_samples') or [])
        sources = self._stack_sources(inputs['source_imgs'], samples)
        driver = self._stack_single(inputs['driver_img'], 'driver_img', samples)
        if driver.shape[0] != sources.shape[0]:
            raise UserError(f'{sources.shape[0]} source stacks but {driver.shape[0]} drivers')
        if tuple(driver.shape[-2:]) != tuple(sources.shape[-2:]):
            raise UserError(f'driver_img is {tuple(driver.shape[-2:])} but source_imgs are '
                            f'{tuple(sources.shape[-2:])}')
        targets: Dict[str, torch.Tensor] = {}
        if samples and all(s.get('gt_img') is not None for s in samples):
            targets['gt_img'] = self._stack_single([s.gt_img for s in samples], 'gt_img',
                                                   samples)
        if samples and all(s.get('gt_mask') is not None for s in samples):
            masks = [s.gt_mask for s in samples]
            for i, m in enumerate(masks):
                if m.dim() != 3 or m.shape[0] != 1 or m.shape[-2:] != driver.shape[-2:]:
                    raise UserError(f'{_describe(samples[i], i)}: gt_mask must be (1, H, W) '
                                    f'of the image size {tuple(driver.shape[-2:])}, got '
                                    f'{tuple(m.shape)}')
            targets['gt_mask'] = torch.stack(masks)
        landmarks = None
        if samples and all(s.get('gt_landmarks') is not None for s in samples):
            # the driver's landmarks (D = I_T), (x, y) in [0, 1] of its side: pixel i covers
            # [i, i + 1) / side (a landmark-conditioned generator reads them)
            landmarks = normalize_landmarks(
                torch.stack([s.gt_landmarks.reshape(-1, 2) for s in samples]), driver.shape[-1])
        batch = self.cast_data(dict(sources=sources, driver=driver, targets=targets,
                                    samples=samples, landmarks=landmarks))
        targets = batch['targets']
        if 'gt_img' in targets:
            targets['gt_img'] = self.normalize(targets['gt_img'])
        if 'gt_mask' in targets:
            targets['gt_mask'] = targets['gt_mask'].float()
        inputs = dict(source_imgs=self.normalize(batch['sources']),
                      driver_img=self.normalize(batch['driver']))
        if batch['landmarks'] is not None:
            inputs['driver_landmarks'] = batch['landmarks']
        return dict(inputs=inputs,
                    data_samples=batch['samples'], targets=targets)
