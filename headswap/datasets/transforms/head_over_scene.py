from typing import Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from headswap.registry import TRANSFORMS
from .parsing_ops import check_image, check_parsing, label_lut, paste_head_over_scene

__all__ = ['ComposeHeadOverScene']


@TRANSFORMS.register_module()
class ComposeHeadOverScene(BaseTransform):
    """Inference input of the blender: the animated head I_A over the target's scene.

    Stage 1 outputs I_A in T's pose and crop, with its own (meaningless)
    background. The blender only uses A's pixels inside its head mask, and A's
    labels and features elsewhere as queries of the inpainting exemplar. This
    transform makes those match training (``PerturbHeadMask``): ``head_img``
    becomes A's head pasted over T's image whose own head (dilated by
    ``hole_dilation``) is filled from its nearest surroundings and blurred;
    ``head_parsing`` the same with labels. ``target_*`` are unchanged.

    Args:
        head_labels: Parsing labels of the head.
        hole_dilation: Growth of T's head before it is filled, as a fraction of
            the image side (parsing edges are soft; hair tips must not stay).
        fill_blur: Gaussian blur of the filled hole, as a fraction of the side.
    """

    def __init__(self, head_labels: Sequence[int], hole_dilation: float = 0.01,
                 fill_blur: float = 0.01):
        super().__init__()
        if hole_dilation < 0 or fill_blur < 0:
            raise ValueError('hole_dilation and fill_blur must be >= 0')
        self.head_labels = [int(lab) for lab in head_labels]
        self.lut = label_lut(self.head_labels)
        self.hole_dilation = float(hole_dilation)
        self.fill_blur = float(fill_blur)

    def transform(self, results: dict) -> dict:
        target = check_image(results, 'target_img')
        target_lab = check_parsing(results, 'target_parsing', target.shape[:2])
        head = check_image(results, 'head_img')
        if head.shape != target.shape:
            raise ValueError(f'head_img is {head.shape[0]}x{head.shape[1]} but target_img is '
                             f'{target.shape[0]}x{target.shape[1]}; stage 1 must output the '
                             "target's crop")
        head_lab = check_parsing(results, 'head_parsing', head.shape[:2])
        h, w = target_lab.shape
        hole = self.lut[target_lab]
        radius = int(round(self.hole_dilation * max(h, w)))
        if radius > 0 and hole.any():
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)
            hole = cv2.dilate(hole.astype(np.uint8), kernel).astype(bool)
        if hole.all():
            raise ValueError('the target head covers the whole image: no scene to fill from')
        results['head_img'], results['head_parsing'] = paste_head_over_scene(
            head, head_lab, self.lut[head_lab], target, target_lab, hole,
            int(round(2 * self.fill_blur * max(h, w))) + 1)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(head_labels={self.head_labels}, '
                f'hole_dilation={self.hole_dilation}, fill_blur={self.fill_blur})')
