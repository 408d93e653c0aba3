"""Choosing K diverse source frames of a subject: approximate head pose from 2D landmarks and
farthest-point sampling on it."""
import numpy as np

__all__ = ['head_pose_angles', 'farthest_point_sampling']

# nose tip height between the eye line (0) and the mouth corners (1) of a level, frontal face
_NEUTRAL_NOSE = 0.55


def head_pose_angles(landmarks: np.ndarray) -> np.ndarray:
    """Approximate head pose ``(N, 3)`` (yaw, pitch, roll) in degrees from ``(N, 68, 2)`` iBUG
    landmarks (image coordinates, y down).

    Roll is the eye line's angle; after undoing it, yaw comes from where the nose tip
    sits between the jaw's extremes and pitch from where it sits between the eye line
    and the mouth. These are geometric proxies (no 3D model), good for ranking pose
    diversity, not for measuring pose.
    """
    lm = np.asarray(landmarks, np.float64).reshape(-1, 68, 2)
    eye_l, eye_r = lm[:, 36:42].mean(1), lm[:, 42:48].mean(1)
    d = eye_r - eye_l
    roll = np.arctan2(d[:, 1], d[:, 0])
    c, s = np.cos(-roll), np.sin(-roll)
    rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)  # (N, 2, 2)
    centre = (eye_l + eye_r) / 2
    p = np.einsum('nij,nkj->nki', rot, lm - centre[:, None])
    width = np.maximum(p[:, 16, 0] - p[:, 0, 0], 1e-6)
    yaw_ratio = (p[:, 30, 0] - (p[:, 0, 0] + p[:, 16, 0]) / 2) / width
    mouth_y = (p[:, 48, 1] + p[:, 54, 1]) / 2
    pitch_ratio = p[:, 30, 1] / np.maximum(mouth_y, 1e-6) - _NEUTRAL_NOSE
    yaw = np.degrees(np.arcsin(np.clip(2 * yaw_ratio, -1, 1)))
    pitch = np.degrees(np.arcsin(np.clip(2 * pitch_ratio, -1, 1)))
    return np.stack([yaw, pitch, np.degrees(roll)], 1)


def farthest_point_sampling(points: np.ndarray, k: int, robust: bool = False,
                            min_spread: float = 20.0) -> np.ndarray:
    """Indices of ``k`` rows of ``points`` ``(N, D)`` spread as far apart as possible.

    Starts from the row closest to the origin (the most frontal pose for head-pose
    angles), then repeatedly adds the row farthest from those chosen. Deterministic;
    all rows when ``k >= N``. Farthest points are extremes, and a failed landmark
    fit is an extreme: with ``robust``, rows farther than 3.5 robust standard
    deviations (1.4826 x the median absolute deviation, at least ``min_spread``)
    from the median in any column are left out while at least ``k`` rows remain.
    """
    points = np.asarray(points, np.float64)
    n = len(points)
    if k >= n:
        return np.arange(n)
    candidates = np.arange(n)
    if robust:
        med = np.median(points, axis=0)
        spread = np.maximum(1.4826 * np.median(np.abs(points - med), axis=0), min_spread)
        inlier = (np.abs(points - med) <= 3.5 * spread).all(axis=1)
        if inlier.sum() >= k:
            candidates = np.nonzero(inlier)[0]
    return candidates[_fps(points[candidates], k)]


def _fps(points: np.ndarray, k: int) -> np.ndarray:
    chosen = [int(np.argmin(np.linalg.norm(points, axis=1)))]
    dist = np.linalg.norm(points - points[chosen[0]], axis=1)
    while len(chosen) < k:
        nxt = int(np.argmax(dist))
        chosen.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(points - points[nxt], axis=1))
    return np.array(chosen)
