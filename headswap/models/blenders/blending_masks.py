from typing import Dict, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from headswap.registry import MODELS
from headswap.structures.face_labels import label_lut_tensor

__all__ = ['BlendingMasks', 'label_mask', 'dilate']


def label_mask(parsing: torch.Tensor, lut: torch.Tensor) -> torch.Tensor:
    """``(B, 1, H, W)`` long labels -> float mask of the labels flagged in ``lut`` (bool)."""
    return lut[parsing.long().clamp(0, lut.numel() - 1)].to(torch.float32)


def dilate(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Square dilation of a ``(B, 1, H, W)`` float mask by ``radius`` pixels (separable)."""
    if radius <= 0:
        return mask
    k = 2 * radius + 1
    mask = F.max_pool2d(mask, (1, k), stride=1, padding=(0, radius))
    return F.max_pool2d(mask, (k, 1), stride=1, padding=(radius, 0))


@MODELS.register_module()
class BlendingMasks(nn.Module):
    """Head mask M^H_A, inpainting mask M^I_A and the edited region, from parsing maps.

    * ``head_mask`` (M^H_A): pixels of A whose label is in ``head_labels``.
    * ``edit_mask``: what the blender regenerates, the union of both heads
      (A's and T's) dilated by ``dilation * max(H, W)`` pixels. Outside it the
      output is T's pixels unchanged; inside it the blending UNet sees nothing
      of T's image (only the warped exemplars), so in training it cannot copy
      T's original head.
    * ``inpaint_mask`` (M^I_A): ``edit_mask`` minus A's head - where T's head
      was but A's is not, plus a band around both heads: neck and background
      the UNet must fill, guided by the inpainting exemplar.

    A sample whose head mask is empty gets an empty edit region (the output is
    then T unchanged); the data preprocessor decides whether that is an error.

    Args:
        head_labels: Parsing labels that belong to the head (config entry; the
            CelebAMask-HQ default is skin, brows, eyes, glasses, ears, earring,
            nose, mouth, lips, hair, hat: neck, necklace and cloth are scene).
        dilation: Band around the heads, as a fraction of the image side.
    """

    def __init__(self, head_labels: Sequence[int], dilation: float = 0.03):
        super().__init__()
        if not len(head_labels):
            raise ValueError('head_labels is empty')
        if any(not 0 <= int(lab) < 256 for lab in head_labels):
            raise ValueError(f'head_labels must be in [0, 256): {list(head_labels)}')
        if dilation < 0:
            raise ValueError(f'dilation must be >= 0, got {dilation}')
        self.register_buffer('lut', label_lut_tensor(head_labels), persistent=False)
        self.head_labels = [int(lab) for lab in head_labels]
        self.dilation = float(dilation)

    def radius(self, height: int, width: int) -> int:
        if self.dilation == 0:
            return 0
        return max(1, round(self.dilation * max(height, width)))

    def forward(self, head_parsing: torch.Tensor, target_parsing: torch.Tensor
                ) -> Dict[str, torch.Tensor]:
        """``(B, 1, H, W)`` parsing of A and T -> dict of ``(B, 1, H, W)`` float masks:
        ``head_mask``, ``inpaint_mask``, ``edit_mask``, ``target_head_mask``."""
        head = label_mask(head_parsing, self.lut)
        target_head = label_mask(target_parsing, self.lut)
        edit = dilate(torch.maximum(head, target_head), self.radius(*head.shape[-2:]))
        has_head = head.flatten(1).amax(1).view(-1, 1, 1, 1)
        edit = edit * has_head
        return dict(head_mask=head, inpaint_mask=edit * (1 - head), edit_mask=edit,
                    target_head_mask=target_head)
