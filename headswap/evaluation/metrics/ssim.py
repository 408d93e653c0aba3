from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from headswap.registry import METRICS
from ..functional import check_same_size, sample_image, ssim

__all__ = ['SSIM']


@METRICS.register_module()
class SSIM(BaseMetric):
    """Structural similarity between the output and the ground truth, mean over images.

    Wang et al. 2004 with an 11x11 Gaussian window (sigma 1.5) on each RGB channel
    (:func:`headswap.evaluation.functional.ssim`; equal to scikit-image's
    ``structural_similarity(gaussian_weights=True, use_sample_covariance=False)``,
    which a test checks). Written in torch rather than imported from mmagic
    (import cost, data-sample layout; see :class:`PSNR`).

    Args:
        pred_key: Data-sample field of the output (uint8 ``(3, H, W)``).
        gt_key: Field of the ground truth.
        collect_device, prefix: See :class:`mmengine.evaluator.BaseMetric`.
    """

    default_prefix: Optional[str] = ''  # plain metric names

    def __init__(self, pred_key: str = 'pred_img', gt_key: str = 'gt_img',
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.pred_key, self.gt_key = pred_key, gt_key

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred = sample_image(sample, self.pred_key, 'SSIM')
            gt = sample_image(sample, self.gt_key, 'SSIM')
            check_same_size(pred, gt, f'SSIM ({self.pred_key} vs {self.gt_key})')
            self.results.append(dict(SSIM=ssim(pred, gt)))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        return dict(SSIM=float(np.mean([r['SSIM'] for r in results])))
