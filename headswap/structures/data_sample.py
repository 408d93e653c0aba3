from typing import Optional

import torch
from mmengine.structures import BaseDataElement

__all__ = ['HeadSwapDataSample']


class HeadSwapDataSample(BaseDataElement):
    """Annotations and predictions of one sample, for both stages.

    Metainfo (set once per sample): ``identity``, ``video``, ``clip``,
    ``frame`` and the file paths the sample was read from.

    Data fields are tensors. Image fields hold ``uint8`` tensors in RGB order,
    ``(3, H, W)`` for one image or ``(K, 3, H, W)`` for K images, so that
    metrics and visualisation hooks can use them without knowing the model's
    normalisation. Common fields:

    * stage 1: ``source_imgs`` (K, 3, H, W), ``driver_img``, ``gt_img``,
      ``pred_img``, ``pred_mask`` (1, H, W) float in [0, 1];
    * stage 2: ``target_img``, ``head_img`` (the animated head I_A),
      ``gt_img``, ``pred_img``, ``head_color_exemplar``,
      ``inpaint_exemplar``, ``head_mask``, ``inpaint_mask``,
      ``target_parsing`` / ``head_parsing`` (1, H, W) long label maps.
    """

    def image_fields(self) -> dict:
        """The ``uint8`` image fields of this sample, by name."""
        return {k: v for k, v in self.items()
                if isinstance(v, torch.Tensor) and v.dtype == torch.uint8 and v.dim() in (3, 4)}

    def get_image(self, key: str) -> Optional[torch.Tensor]:
        """An image field, or None when the sample does not have it."""
        return self.get(key, None)
