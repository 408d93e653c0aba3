from typing import Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from headswap.registry import TRANSFORMS
from .parsing_ops import (check_image, check_parsing, label_lut, nearest_fill,
                          paste_head_over_scene, smooth_field)

__all__ = ['PerturbHeadMask']


@TRANSFORMS.register_module()
class PerturbHeadMask(BaseTransform):
    """Make a stage-2 training input whose heads differ in shape, with I_T as ground truth.

    The blender must (a) recolour A's head with T's colours and (b) inpaint
    where T's head was but A's is not. In reconstruction training (SPEC
    section 3) A's head is T's own head, pixel-aligned (moving or reshaping it
    would make I_T a wrong ground truth for A's head), so the shape difference
    is simulated on T's side: T's head region is grown by a smooth random
    amount, as if T's original head had been larger there. The grown band R
    has a known ground truth (T's real neck/background) that the blender never
    sees (it lies in the edited region, see ``BlendingMasks``), so it learns to
    inpaint the region a smaller swapped-in head exposes.

    Writes (docs/en/data_format.md keys):

    * ``target_parsing``: R relabelled with the nearest head label of T (so
      T's head mask covers R). ``target_img`` is unchanged: it is I_T.
    * ``head_img`` (I_A): T's image with R filled from the nearest pixels
      outside the grown head (then blurred), i.e. A's head over T's scene with
      T's old head removed - what ``ComposeHeadOverScene`` builds at inference.
    * ``head_parsing``: T's parsing with R labelled like the nearest non-head
      pixel outside the grown head.

    Frames whose parsing has no head label pass through with ``head_img`` /
    ``head_parsing`` copies of the target (the data preprocessor reports them).
    Random numbers come from numpy's global generator only (resumable runs).
    Follow it with ``ShiftHeadColor``.

    Args:
        head_labels: Parsing labels of the head (config entry shared with the model).
        max_grow: Largest growth of T's head, as a fraction of the image side.
        min_grow: Smallest growth (the field is drawn in ``[min_grow, max_grow]``).
        grid: Lattice of the smooth growth field (larger: wigglier outline).
        fill_blur: Gaussian blur of the filled band, as a fraction of the side.
        prob: Probability to grow at all (otherwise R is empty and A is T).
    """

    def __init__(self, head_labels: Sequence[int], max_grow: float = 0.08,
                 min_grow: float = 0.0, grid: int = 4, fill_blur: float = 0.01,
                 prob: float = 1.0):
        super().__init__()
        if not 0 <= min_grow <= max_grow:
            raise ValueError(f'need 0 <= min_grow <= max_grow, got {min_grow}, {max_grow}')
        if not len(head_labels):
            raise ValueError('head_labels is empty')
        self.head_labels = [int(lab) for lab in head_labels]
        self.lut = label_lut(self.head_labels)
        self.max_grow, self.min_grow = float(max_grow), float(min_grow)
        self.grid = int(grid)
        self.fill_blur = float(fill_blur)
        self.prob = float(prob)

    def transform(self, results: dict) -> dict:
        img = check_image(results, 'target_img')
        lab = check_parsing(results, 'target_parsing', img.shape[:2])
        head = self.lut[lab]
        h, w = lab.shape
        grow = np.random.rand() < self.prob
        field = smooth_field((h, w), self.grid, self.min_grow, self.max_grow) * max(h, w)
        if not grow or not head.any() or self.max_grow == 0:
            results['head_img'], results['head_parsing'] = img.copy(), lab.copy()
            return results
        dist = cv2.distanceTransform((~head).astype(np.uint8), cv2.DIST_L2, 5)
        grown = head | (dist <= field)
        if grown.all():
            grown = head
        band = grown & ~head

        target_lab = lab.copy()
        nearest_head = nearest_fill(~head)  # nearest head pixel, for labels of T's band
        target_lab[band] = lab.reshape(-1)[nearest_head[band]]
        head_img, head_lab = paste_head_over_scene(
            img, lab, head, img, lab, grown, int(round(2 * self.fill_blur * max(h, w))) + 1)

        results['target_parsing'] = target_lab
        results['head_img'] = head_img
        results['head_parsing'] = head_lab
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(head_labels={self.head_labels}, '
                f'grow=[{self.min_grow}, {self.max_grow}], grid={self.grid}, prob={self.prob})')
