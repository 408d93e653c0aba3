from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from headswap.registry import METRICS, MODELS
from headswap.structures.pixels import normalize_pixels
from ..functional import sample_image

__all__ = ['IdentitySimilarity']


@METRICS.register_module()
class IdentitySimilarity(BaseMetric):
    """Identity preservation: CSIM and ID retrieval with ArcFace embeddings.

    Per output, with L2-normalised embeddings of the stage-1 ArcFace encoder
    (:class:`ArcFaceIdentityEncoder`: the same 112x112 window of the head crop as
    in training):

    * ``CSIM``: cosine similarity to the source images, mean over the K sources;
    * ``CSIM_target``: cosine similarity to the ground-truth target frame, for
      samples whose source and driver are the same identity (self-reenactment,
      reconstruction; not reported when there are none);
    * ``ID_top1``: ID retrieval, whether the output's nearest identity in a
      gallery of all the test identities is the source identity. The gallery
      holds one embedding per identity: the normalised mean of the embeddings
      of its real images seen in the test (sources and drivers). Not reported
      (a warning) when the gallery has fewer than two identities.

    Args:
        identity_encoder: :class:`ArcFaceIdentityEncoder` config (its
            ``checkpoint``: insightface ``backbone.pth``; None = random weights,
            warned) or a module.
        pred_key: Field of the output (uint8 ``(3, H, W)``).
        source_key: Field of the sources (uint8 ``(K, 3, H, W)``).
        target_key: Field of the ground truth (uint8 ``(3, H, W)``), or None.
        driver_key: Field of the driver (uint8 ``(3, H, W)``), added to the
            gallery, or None.
        identity_key / source_identity_key: Metainfo fields naming the driver's
            and the sources' identity (the source identity defaults to the
            driver's when a sample lacks it, as in self-reenactment).
        device: ``'auto'``, ``'cpu'``, ``'cuda'``...
        collect_device, prefix: See :class:`mmengine.evaluator.BaseMetric`.
    """

    default_prefix: Optional[str] = ''  # plain metric names

    def __init__(self, identity_encoder: Union[dict, nn.Module] = dict(
                     type='ArcFaceIdentityEncoder', depth=100, checkpoint=None),
                 pred_key: str = 'pred_img', source_key: str = 'source_imgs',
                 target_key: Optional[str] = 'gt_img', driver_key: Optional[str] = 'driver_img',
                 identity_key: str = 'identity', source_identity_key: str = 'source_identity',
                 device: str = 'auto', collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        from headswap.utils.openmmlab_scope import resolve_device
        self.device = resolve_device(device)
        net = identity_encoder if isinstance(identity_encoder, nn.Module) else MODELS.build(
            identity_encoder)
        self.encoder = net.to(self.device).eval()
        self.pred_key, self.source_key = pred_key, source_key
        self.target_key, self.driver_key = target_key, driver_key
        self.identity_key, self.source_identity_key = identity_key, source_identity_key

    @torch.no_grad()
    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 ``(N, 3, H, W)`` -> ``(N, D)`` unit embeddings (float32, CPU)."""
        x = normalize_pixels(images.to(self.device))
        return F.normalize(self.encoder(x).float(), dim=1).cpu()

    def _images(self, sample: dict, key: Optional[str], required: bool = False
                ) -> Optional[torch.Tensor]:
        if key is None or (not required and sample.get(key) is None):
            return None
        img = sample_image(sample, key, 'IdentitySimilarity')
        return img if img.dim() == 4 else img[None]

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            driver_id = sample.get(self.identity_key)
            source_id = sample.get(self.source_identity_key, driver_id)
            parts = dict(pred=self._images(sample, self.pred_key, required=True),
                         source=self._images(sample, self.source_key, required=True),
                         driver=self._images(sample, self.driver_key),
                         target=self._images(sample, self.target_key)
                         if source_id == driver_id else None)
            # one pass per part: the ArcFace window is cut at any resolution
            emb = {k: self.embed(v).numpy() for k, v in parts.items() if v is not None}
            e_pred = emb['pred'][0]
            row = dict(csim=float((emb['source'] @ e_pred).mean()), pred=e_pred,
                       source_id=source_id, gallery=[(source_id, emb['source'].mean(0))])
            if 'driver' in emb:
                row['gallery'].append((driver_id, emb['driver'][0]))
            if 'target' in emb:
                row['csim_target'] = float(emb['target'][0] @ e_pred)
            self.results.append(row)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        out = dict(CSIM=float(np.mean([r['csim'] for r in results])))
        target = [r['csim_target'] for r in results if 'csim_target' in r]
        if target:
            out['CSIM_target'] = float(np.mean(target))
        gallery = defaultdict(list)
        for r in results:
            for ident, emb in r['gallery']:
                gallery[ident].append(emb)
        if len(gallery) < 2:
            print_log(f'IdentitySimilarity: the gallery has {len(gallery)} identity; ID '
                      'retrieval needs at least two and is not reported', logger='current',
                      level=30)
            return out
        names = sorted(gallery, key=str)
        centres = np.stack([np.mean(gallery[n], 0) for n in names])
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        preds = np.stack([r['pred'] for r in results])
        nearest = np.argmax(preds @ centres.T, axis=1)
        hits = [names[j] == r['source_id'] for j, r in zip(nearest, results)]
        out['ID_top1'] = float(np.mean(hits))
        return out
