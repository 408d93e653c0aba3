"""Face alignment: 5 landmark-derived points -> similarity transform -> square crop.

The canonical template is the 5-point face template of ArcFace-style 112x112
crops (eye centres, nose tip, mouth corners), given in [0, 1] units of that
tight crop. ``crop_scale`` widens the window around it: with ``crop_scale=s``
the crop side is ``s`` times the tight crop's side, so the face fills about
``1/s`` of the crop and hair, ears, neck and some background stay inside.
The default ``DEFAULT_CROP_SCALE = 2.0`` puts the eyes ~80 px apart in a
512x512 crop, the hairline near y=100 and the chin near y=380 (HeSer crops
are "larger than usual": the whole head plus neck, see docs/en/data_format.md).
"""
from typing import Optional

import numpy as np

__all__ = [
    'TIGHT_TEMPLATE', 'DEFAULT_CROP_SCALE', 'five_points', 'template_points',
    'similarity_transform', 'smooth_points', 'transform_points', 'face_window'
]

# eye centres (image-left, image-right), nose tip, mouth corners; ArcFace's
# 112x112 template divided by 112
TIGHT_TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                           [41.5493, 92.3655], [70.7299, 92.2041]]) / 112.0

DEFAULT_CROP_SCALE = 2.0


def five_points(landmarks: np.ndarray) -> np.ndarray:
    """``(..., 68, 2)`` iBUG landmarks -> ``(..., 5, 2)`` points matching :data:`TIGHT_TEMPLATE`."""
    lm = np.asarray(landmarks, np.float64)
    return np.stack([lm[..., 36:42, :].mean(-2), lm[..., 42:48, :].mean(-2), lm[..., 30, :],
                     lm[..., 48, :], lm[..., 54, :]], axis=-2)


def template_points(crop_scale: float = DEFAULT_CROP_SCALE, size: int = 512,
                    y_offset: float = 0.0) -> np.ndarray:
    """The template's ``(5, 2)`` target positions in a ``size`` x ``size`` crop.

    Args:
        crop_scale: Crop side relative to the tight face crop (>= 1).
        size: Output side in pixels.
        y_offset: Vertical shift of the face, as a fraction of the crop side
            (positive moves the face down).
    """
    if crop_scale < 1.0:
        raise ValueError(f'crop_scale must be >= 1 (1 = tight ArcFace-style crop), got '
                         f'{crop_scale}')
    pts = 0.5 + (TIGHT_TEMPLATE - 0.5) / crop_scale
    pts[:, 1] += y_offset
    return pts * size


def face_window(size: int, crop_scale: float = DEFAULT_CROP_SCALE,
                y_offset: float = 0.0) -> np.ndarray:
    """``(4,)`` x1, y1, x2, y2 of the tight face window in an aligned ``size`` x ``size``
    crop: the square of side ``size / crop_scale`` around the template's centre (moved down
    by ``y_offset`` of the side). The box a landmarker reads an aligned face in."""
    half = 0.5 / crop_scale
    cy = 0.5 + y_offset
    return np.array([0.5 - half, cy - half, 0.5 + half, cy + half], np.float32) * size


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) ``src -> dst``.

    Umeyama's closed form. ``(N, 2)`` point sets -> ``(2, 3)`` float64 matrix.
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s_c, d_c = src - mu_s, dst - mu_d
    var_s = (s_c ** 2).sum() / len(src)
    if var_s <= 1e-12:
        raise ValueError('degenerate landmarks: all points coincide')
    cov = d_c.T @ s_c / len(src)
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1
    rot = u @ np.diag(d) @ vt
    scale = (sig * d).sum() / var_s
    t = mu_d - scale * rot @ mu_s
    return np.concatenate([scale * rot, t[:, None]], axis=1)


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a ``(2, 3)`` affine matrix to ``(..., 2)`` points."""
    return points @ matrix[:, :2].T + matrix[:, 2]


def smooth_points(points: np.ndarray, frames: np.ndarray, sigma: float,
                  max_gap: Optional[float] = None) -> np.ndarray:
    """Gaussian smoothing of point tracks over time (non-causal, whole clip).

    Args:
        points: ``(T, P, 2)`` points of T frames in temporal order.
        frames: ``(T,)`` source frame index of each row (gaps allowed, e.g.
            frames dropped by filters or a frame stride).
        sigma: Standard deviation in source frames; 0 disables smoothing.
        max_gap: Frames farther apart than this never influence each other
            (default ``3 * sigma``).

    Returns:
        ``(T, P, 2)`` smoothed points.
    """
    points = np.asarray(points, np.float64)
    if sigma <= 0 or len(points) < 2:
        return points.copy()
    frames = np.asarray(frames, np.float64)
    max_gap = 3 * sigma if max_gap is None else max_gap
    dist = frames[:, None] - frames[None, :]
    weights = np.exp(-0.5 * (dist / sigma) ** 2) * (np.abs(dist) <= max_gap)
    weights /= weights.sum(1, keepdims=True)
    return np.einsum('ts,spc->tpc', weights, points)
