import warnings
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn

from headswap.registry import METRICS
from headswap.structures.pixels import normalize_pixels
from ..functional import check_same_size, sample_image, sample_mask
from .region_metric import RegionMetric

__all__ = ['LPIPS']

_TORCHVISION_FILES = dict(alex='alexnet-owt-7be5be79.pth', vgg='vgg16-397923af.pth')


def _backbone_key_map(backbone: nn.Module):
    """torchvision ``features.<i>.*`` keys -> the lpips backbone's ``slice<n>.<i>.*`` keys."""
    where = {}
    for key in backbone.state_dict():
        slice_name, index, param = key.split('.', 2)
        where[f'features.{index}.{param}'] = key

    def key_map(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return {where.get(k, k): v for k, v in state.items()}

    return key_map


def build_lpips_network(net: str = 'alex', backbone_checkpoint: Optional[str] = None
                        ) -> nn.Module:
    """The ``lpips`` package's LPIPS v0.1 with a backbone from a local file.

    The package ships its calibrated linear layers (``lpips/weights/v0.1``) but
    takes the backbone from torchvision, which downloads it; here the backbone
    is built empty and loaded from ``backbone_checkpoint`` (torchvision's
    ImageNet ``alexnet`` / ``vgg16`` state dict; classifier keys are ignored), or
    left random with a warning when it is None.
    """
    try:
        import lpips
    except ImportError:
        raise ImportError('the LPIPS metric needs the `lpips` package: pip install lpips') \
            from None
    from headswap.utils.pretrained import load_pretrained
    if net not in _TORCHVISION_FILES:
        raise ValueError(f'LPIPS: net must be one of {sorted(_TORCHVISION_FILES)}, got {net!r}')
    # the random backbone draws from torch's global RNG; torchvision warns about `pretrained`
    with torch.random.fork_rng(), warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        torch.manual_seed(0)
        model = lpips.LPIPS(pretrained=True, net=net, version='0.1', spatial=True,
                            pnet_rand=True, verbose=False)
    load_pretrained(model.net, backbone_checkpoint,
                    f'LPIPS {net} backbone (torchvision {_TORCHVISION_FILES[net]})',
                    key_map=_backbone_key_map(model.net), ignore_prefixes=('classifier.',))
    model.eval().requires_grad_(False)
    return model


@METRICS.register_module()
class LPIPS(RegionMetric):
    """LPIPS perceptual distance (Zhang et al. 2018, v0.1) to the ground truth, per region.

    The spatial LPIPS map of each image (one network pass) is averaged over each
    region: all pixels, or a mask field of the data sample (the blender's
    ``head_mask`` / ``inpaint_mask``). Identical images give 0. Uses the
    ``lpips`` package (its linear layers ship with it); the backbone loads from
    ``backbone_checkpoint`` (see :func:`build_lpips_network`). mmagic has no
    LPIPS metric.

    Args:
        net: ``'alex'`` (the usual choice for evaluation) or ``'vgg'``.
        backbone_checkpoint: torchvision's ``alexnet-owt-7be5be79.pth`` /
            ``vgg16-397923af.pth``, or None for a random backbone (warned).
        pred_key, gt_key: Data-sample fields (uint8 ``(3, H, W)``).
        regions: ``{region name: mask field or None}``; ``'whole'`` reports as
            ``LPIPS``, others as ``LPIPS_<name>``.
        device: ``'auto'`` (CUDA when available), ``'cpu'``, ``'cuda:0'``...
        collect_device, prefix: See :class:`mmengine.evaluator.BaseMetric`.
    """

    default_prefix: Optional[str] = ''  # plain metric names

    metric_name = 'LPIPS'

    def __init__(self, net: str = 'alex', backbone_checkpoint: Optional[str] = None,
                 pred_key: str = 'pred_img', gt_key: str = 'gt_img',
                 regions: Optional[Dict[str, Optional[str]]] = None, device: str = 'auto',
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(pred_key, gt_key, regions, collect_device, prefix)
        from headswap.utils.openmmlab_scope import resolve_device
        self.device = resolve_device(device)
        self.network = build_lpips_network(net, backbone_checkpoint).to(self.device)

    @torch.no_grad()
    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        preds, gts = [], []
        for sample in data_samples:
            pred = sample_image(sample, self.pred_key, 'LPIPS')
            gt = sample_image(sample, self.gt_key, 'LPIPS')
            check_same_size(pred, gt, f'LPIPS ({self.pred_key} vs {self.gt_key})')
            preds.append(pred)
            gts.append(gt)
        if not preds:
            return
        if len({tuple(p.shape) for p in preds}) > 1:
            maps = [self._map(p[None], g[None])[0] for p, g in zip(preds, gts)]
        else:
            maps = list(self._map(torch.stack(preds), torch.stack(gts)))
        for sample, dist in zip(data_samples, maps):
            row = {}
            for region, key in self.regions.items():
                if key is None:
                    row[self._name(region)] = float(dist.mean())
                    continue
                mask = sample_mask(sample, key, 'LPIPS')
                check_same_size(dist, mask, f'LPIPS ({self.pred_key} vs {key})')
                row[self._name(region)] = float(dist[mask].mean()) if mask.any() else None
            self.results.append(row)

    def _map(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        """uint8 ``(N, 3, H, W)`` pairs -> ``(N, H, W)`` LPIPS maps (CPU)."""
        def norm(x):
            return normalize_pixels(x.to(self.device))

        return self.network(norm(pred), norm(gt))[:, 0].float().cpu()
