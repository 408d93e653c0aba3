from typing import Dict, Optional, Sequence

from headswap.registry import METRICS
from ..functional import check_same_size, psnr, sample_image, sample_mask
from .region_metric import RegionMetric

__all__ = ['PSNR']


@METRICS.register_module()
class PSNR(RegionMetric):
    """Peak signal-to-noise ratio (dB) between the output and the ground truth, per region.

    Per image, over the pixels of each region (all pixels, or those of a mask
    field of the data sample, e.g. the blender's ``head_mask`` and
    ``inpaint_mask``), then averaged over the images. Identical images score
    ``max_db``; an image whose mask is empty is left out of that region's mean.

    Written rather than taken from mmagic: mmagic's ``PSNR`` reads its own
    data-sample layout (``output.pred_img``), has no masks, and importing it
    costs ~7 s (mmagic's evaluation package pulls diffusers).

    Args:
        pred_key: Data-sample field of the output (uint8 ``(3, H, W)``).
        gt_key: Field of the ground truth.
        regions: ``{region name: mask field or None}``; a region named
            ``'whole'`` reports as ``PSNR``, others as ``PSNR_<name>``.
        max_db: Cap of a single image's PSNR.
        collect_device, prefix: See :class:`mmengine.evaluator.BaseMetric`.
    """

    default_prefix: Optional[str] = ''  # plain metric names

    metric_name = 'PSNR'

    def __init__(self, pred_key: str = 'pred_img', gt_key: str = 'gt_img',
                 regions: Optional[Dict[str, Optional[str]]] = None, max_db: float = 100.0,
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(pred_key, gt_key, regions, collect_device, prefix)
        self.max_db = max_db

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred = sample_image(sample, self.pred_key, 'PSNR')
            gt = sample_image(sample, self.gt_key, 'PSNR')
            check_same_size(pred, gt, f'PSNR ({self.pred_key} vs {self.gt_key})')
            row = {}
            for region, key in self.regions.items():
                mask = None if key is None else sample_mask(sample, key, 'PSNR')
                if mask is not None:
                    check_same_size(pred, mask, f'PSNR ({self.pred_key} vs {key})')
                row[self._name(region)] = psnr(pred, gt, mask, self.max_db)
            self.results.append(row)
