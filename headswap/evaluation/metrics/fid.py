from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from headswap.registry import METRICS, MODELS
from ..functional import sample_image

__all__ = ['FID', 'frechet_distance']


def _trace_sqrt_product(feats1: np.ndarray, feats2: np.ndarray) -> float:
    """``tr(sqrt(cov1 @ cov2))`` of the features' covariances, without ``sqrtm``.

    The eigenvalues of ``cov1 @ cov2`` (both PSD) are real and non-negative, so
    the trace of its square root is the sum of their square roots: with
    ``cov_i = A_i^T A_i`` (centred features over ``sqrt(n_i - 1)``) these are the
    squared singular values of ``A_1 A_2^T`` (an ``n1 x n2`` matrix, cheap when
    there are fewer images than feature dimensions); otherwise they are the
    eigenvalues of ``sqrt(cov1) cov2 sqrt(cov1)`` (``d x d``, symmetric).
    """
    a = (feats1 - feats1.mean(0)) / np.sqrt(max(len(feats1) - 1, 1))
    b = (feats2 - feats2.mean(0)) / np.sqrt(max(len(feats2) - 1, 1))
    if min(len(a), len(b)) <= a.shape[1]:
        return float(np.linalg.svd(a @ b.T, compute_uv=False).sum())
    w, v = np.linalg.eigh(a.T @ a)
    root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    eig = np.linalg.eigvalsh(root @ (b.T @ b) @ root)
    return float(np.sqrt(np.clip(eig, 0, None)).sum())


def frechet_distance(feats1: np.ndarray, feats2: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets ``(N_i, D)``.

    ``|mu1 - mu2|^2 + tr(cov1) + tr(cov2) - 2 tr(sqrt(cov1 cov2))`` (Heusel et
    al. 2017), with unbiased covariances as in the reference implementations;
    the last trace is computed exactly from eigenvalues
    (:func:`_trace_sqrt_product`) instead of scipy's ``sqrtm``, which is slow
    at D = 2048 and needs an ``eps`` fix when there are fewer images than D.
    """
    feats1 = np.asarray(feats1, np.float64)
    feats2 = np.asarray(feats2, np.float64)
    diff = feats1.mean(0) - feats2.mean(0)
    tr1 = float(np.var(feats1, axis=0, ddof=1).sum())
    tr2 = float(np.var(feats2, axis=0, ddof=1).sum())
    return float(diff @ diff + tr1 + tr2 - 2 * _trace_sqrt_product(feats1, feats2))


@METRICS.register_module()
class FID(BaseMetric):
    """Fréchet Inception distance between the outputs and real frames of the test set.

    Features of every output (``fake_key``) and of the real frames
    (``real_key``, each real frame once: samples sharing ``real_id_key`` count
    once) come from :class:`FIDInceptionV3`; FID is computed over all of them
    at the end. With the standard weights (pytorch-fid's
    ``pt_inception-2015-12-05-6726825d.pth``) and ``input_size=299`` the numbers
    are comparable with the literature; they depend on the number of images
    (biased upwards for small sets).

    Written rather than taken from mmagic: mmagic's FID loads a TorchScript
    Inception (or downloads it), gathers real images through its own generative
    evaluation loops, and caches statistics with pickle.

    Args:
        inception: :class:`FIDInceptionV3` config (``checkpoint``: local path,
            None = random weights, warned) or a module.
        fake_key: Data-sample field of the outputs.
        real_key: Field of the real frames (the targets / drivers).
        real_id_key: Metainfo field identifying a real frame (its path), or
            None to count every sample's real frame.
        device: ``'auto'``, ``'cpu'``, ``'cuda'``...
        collect_device, prefix: See :class:`mmengine.evaluator.BaseMetric`.
    """

    default_prefix: Optional[str] = ''  # plain metric names

    def __init__(self, inception: Union[dict, nn.Module] = dict(type='FIDInceptionV3'),
                 fake_key: str = 'pred_img', real_key: str = 'gt_img',
                 real_id_key: Optional[str] = 'img_path', device: str = 'auto',
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        from headswap.utils.openmmlab_scope import resolve_device
        self.device = resolve_device(device)
        net = inception if isinstance(inception, nn.Module) else MODELS.build(inception)
        self.inception = net.to(self.device).eval()
        self.fake_key, self.real_key, self.real_id_key = fake_key, real_key, real_id_key

    @torch.no_grad()
    def _features(self, images: List[torch.Tensor]) -> np.ndarray:
        if len({tuple(x.shape) for x in images}) > 1:
            return np.concatenate([self._features([x]) for x in images])
        return self.inception(torch.stack(images).to(self.device)).float().cpu().numpy()

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        fakes = [sample_image(s, self.fake_key, 'FID') for s in data_samples]
        reals = [sample_image(s, self.real_key, 'FID') for s in data_samples]
        fake_feats, real_feats = self._features(fakes), self._features(reals)
        for i, sample in enumerate(data_samples):
            real_id = sample.get(self.real_id_key) if self.real_id_key else None
            self.results.append(dict(fake=fake_feats[i], real=real_feats[i],
                                     real_id=real_id if real_id is not None else len(
                                         self.results)))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        fake = np.stack([r['fake'] for r in results])
        unique = {}
        for r in results:
            unique.setdefault(r['real_id'], r['real'])
        real = np.stack(list(unique.values()))
        if len(fake) < 2 or len(real) < 2:
            print_log(f'FID needs at least 2 outputs and 2 real frames, got {len(fake)} and '
                      f'{len(real)}; FID is not reported', logger='current', level=30)
            return {}
        return dict(FID=frechet_distance(fake, real))
