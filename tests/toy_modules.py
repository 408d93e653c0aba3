"""A toy metric for tests (imported by tests/data/configs/head2scene_toy.py).

Lives under tests/ on purpose: nothing here is part of headswap.
"""
import numpy as np
from mmengine.evaluator import BaseMetric

from headswap.registry import METRICS


@METRICS.register_module()
class ToyL1Metric(BaseMetric):
    """Mean absolute error in [0, 255] between pred_img and gt_img."""

    default_prefix = 'toy'

    def process(self, data_batch, data_samples):
        for s in data_samples:
            self.results.append((s['pred_img'].float() - s['gt_img'].float()).abs().mean().item())

    def compute_metrics(self, results):
        return dict(l1=float(np.mean(results)))
