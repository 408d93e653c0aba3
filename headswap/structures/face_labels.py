"""Face-parsing labels and facial-landmark layouts used everywhere in headswap.

The 19 parsing labels follow docs/en/data_format.md (CelebAMask-HQ classes in the
order of the widely used face-parsing.PyTorch BiSeNet). ``l_*`` / ``r_*`` pairs
are swapped by horizontal flips. Landmarks are stored in the 68-point iBUG /
300-W layout (``'ibug68'``): jaw 0-16, brows 17-26, nose 27-35, eyes 36-47,
outer lips 48-59, inner lips 60-67; points 36-41 are the eye on the image's left.
"""
from typing import Dict, List, Sequence, Tuple

import numpy as np

__all__ = [
    'PARSING_CLASSES', 'PARSING_PALETTE', 'PARSING_FLIP_PAIRS', 'BACKGROUND_LABEL', 'HAIR_LABEL',
    'HAT_LABEL', 'HAIR_LABELS', 'HEAD_LABELS', 'CELEBAMASK_HQ_FILE_ORDER', 'parsing_flip_lut',
    'label_lut', 'label_lut_tensor', 'head_mask', 'IBUG68', 'ibug68_flip_index', 'eye_centres'
]

PARSING_CLASSES: Tuple[str, ...] = (
    'background', 'skin', 'l_brow', 'r_brow', 'l_eye', 'r_eye', 'eye_g', 'l_ear', 'r_ear',
    'ear_r', 'nose', 'mouth', 'u_lip', 'l_lip', 'neck', 'neck_l', 'cloth', 'hair', 'hat')

PARSING_PALETTE: Tuple[Tuple[int, int, int], ...] = (
    (0, 0, 0), (204, 0, 0), (76, 153, 0), (204, 204, 0), (51, 51, 255), (204, 0, 204),
    (0, 255, 255), (255, 204, 204), (102, 51, 0), (255, 0, 0), (102, 204, 0), (255, 255, 0),
    (0, 0, 153), (0, 0, 204), (255, 51, 153), (0, 204, 204), (0, 51, 0), (255, 153, 51),
    (0, 204, 0))

# (left, right) label ids that a horizontal flip exchanges
PARSING_FLIP_PAIRS: Tuple[Tuple[int, int], ...] = ((2, 3), (4, 5), (7, 8))

BACKGROUND_LABEL = 0
HAIR_LABEL = 17  # 'hair'
HAT_LABEL = 18  # 'hat'
# head labels drawn apart from the face (e.g. by the colour-shift augmentation)
HAIR_LABELS: Tuple[int, ...] = (HAIR_LABEL, HAT_LABEL)

# labels of the head (stage 1 ``gt_mask``): skin .. lower lip, hair, hat
HEAD_LABELS: Tuple[int, ...] = tuple(range(1, 14)) + HAIR_LABELS

# Order of the per-part mask files of the original CelebAMask-HQ release
# (``<n>_<part>.png``, as ordered by its g_mask.py); label id = position + 1.
CELEBAMASK_HQ_FILE_ORDER: Tuple[str, ...] = (
    'skin', 'nose', 'eye_g', 'l_eye', 'r_eye', 'l_brow', 'r_brow', 'l_ear', 'r_ear', 'mouth',
    'u_lip', 'l_lip', 'hair', 'hat', 'ear_r', 'neck_l', 'neck', 'cloth')


def parsing_flip_lut() -> np.ndarray:
    """``(256,)`` uint8 lookup table mapping each label to its mirror label."""
    lut = np.arange(256, dtype=np.uint8)
    for a, b in PARSING_FLIP_PAIRS:
        lut[a], lut[b] = b, a
    return lut


def label_lut(labels: Sequence[int], size: int = 256) -> np.ndarray:
    """``(size,)`` bool table: ``lut[parsing]`` is the mask of ``labels``."""
    lut = np.zeros(size, dtype=bool)
    lut[np.asarray([int(x) for x in labels], dtype=np.int64)] = True
    return lut


def label_lut_tensor(labels: Sequence[int], device=None, size: int = 256):
    """:func:`label_lut` as a ``(size,)`` bool ``torch.Tensor`` on ``device``."""
    import torch
    return torch.from_numpy(label_lut(labels, size)).to(device)


def head_mask(parsing: np.ndarray) -> np.ndarray:
    """``(H, W)`` label map -> ``(H, W)`` bool mask of :data:`HEAD_LABELS`."""
    return np.isin(parsing, HEAD_LABELS)


# 68-point iBUG layout: named groups of indices
IBUG68: Dict[str, List[int]] = dict(
    jaw=list(range(0, 17)),
    brow_left_img=list(range(17, 22)),
    brow_right_img=list(range(22, 27)),
    nose_bridge=list(range(27, 31)),
    nose_lower=list(range(31, 36)),
    eye_left_img=list(range(36, 42)),
    eye_right_img=list(range(42, 48)),
    lips_outer=list(range(48, 60)),
    lips_inner=list(range(60, 68)),
)


def ibug68_flip_index() -> np.ndarray:
    """``(68,)`` index ``p`` such that ``flipped[i] = mirror(points[p[i]])``."""
    idx = np.arange(68)
    pairs = [(i, 16 - i) for i in range(8)]                       # jaw
    pairs += [(17 + i, 26 - i) for i in range(5)]                 # brows
    pairs += [(31, 35), (32, 34)]                                 # nostrils
    pairs += [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]  # eyes
    pairs += [(48, 54), (49, 53), (50, 52), (59, 55), (58, 56)]   # outer lips
    pairs += [(60, 64), (61, 63), (67, 65)]                       # inner lips
    for a, b in pairs:
        idx[a], idx[b] = b, a
    return idx


def eye_centres(landmarks: np.ndarray) -> np.ndarray:
    """``(..., 68, 2)`` iBUG landmarks -> ``(..., 2, 2)`` image-left and image-right eye centres."""
    left = landmarks[..., 36:42, :].mean(axis=-2)
    right = landmarks[..., 42:48, :].mean(axis=-2)
    return np.stack([left, right], axis=-2)
