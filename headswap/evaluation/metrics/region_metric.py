from typing import Dict, List, Optional

import numpy as np
from mmengine.evaluator import BaseMetric


class RegionMetric(BaseMetric):
    """A per-image score of ``pred_key`` against ``gt_key`` on the whole image and on masked
    regions, averaged over the images where the region is not empty.

    Subclasses set ``metric_name`` and fill ``self.results`` with one dict per image,
    ``{self._name(region): value or None}``; region ``'whole'`` reports as ``metric_name``,
    any other as ``<metric_name>_<region>``.
    """

    metric_name = ''

    def __init__(self, pred_key: str = 'pred_img', gt_key: str = 'gt_img',
                 regions: Optional[Dict[str, Optional[str]]] = None,
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.pred_key, self.gt_key = pred_key, gt_key
        self.regions = dict(regions) if regions else {'whole': None}

    def _name(self, region: str) -> str:
        return self.metric_name if region == 'whole' else f'{self.metric_name}_{region}'

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        out = {}
        for region in self.regions:
            name = self._name(region)
            values = [r[name] for r in results if r.get(name) is not None]
            if values:
                out[name] = float(np.mean(values))
        return out
