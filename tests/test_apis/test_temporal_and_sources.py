"""Streaming landmark smoothing equals data preparation's; source frames diverse in pose."""
import json

import numpy as np

from headswap.apis.source_selection import farthest_point_sampling, head_pose_angles
from headswap.apis.temporal import StreamingSmoother
from headswap.datasets.preparation.alignment import smooth_points


def test_streaming_smoothing_equals_whole_clip_smoothing():
    rng = np.random.default_rng(0)
    frames = [f for f in range(60) if f not in (10, 11, 12, 30)]  # gaps: no face there
    points = rng.normal(size=(len(frames), 68, 2)) * 3 + 100
    ref = smooth_points(points, np.array(frames), 2.0)
    smoother = StreamingSmoother(2.0)
    out = []
    for f in range(60):
        pts = points[frames.index(f)] if f in frames else None
        out += smoother.push(f, pts, f)
    out += smoother.flush()
    assert [item for item, _ in out] == list(range(60))  # order kept, no-face frames too
    got = {item: p for item, p in out}
    for i, f in enumerate(frames):
        np.testing.assert_allclose(got[f], ref[i], atol=1e-9)
    assert all(got[f] is None for f in (10, 11, 12, 30))
    assert len(smoother._track) == 0 or smoother._track[-1][0] == 59


def test_still_head_jitter_is_removed():
    rng = np.random.default_rng(1)
    still = np.tile(np.array([[100.0, 120.0]]), (68, 1))
    smoother = StreamingSmoother(2.0)
    out = []
    for f in range(40):
        out += smoother.push(f, still + rng.normal(0, 1.0, still.shape), f)
    out += smoother.flush()
    pts = np.stack([p for _, p in out])
    raw_jitter = 1.0 * np.sqrt(2)
    jitter = np.abs(np.diff(pts[6:-6], axis=0)).mean()
    assert jitter < 0.35 * raw_jitter


def test_head_pose_angles_on_real_landmarks():
    entries = json.load(open('data/sample/index.json'))['data_list']
    lm = np.array([e['landmarks'] for e in entries], np.float64)
    angles = head_pose_angles(lm)
    assert np.abs(angles).max() < 60  # aligned, mostly frontal faces
    mirrored = lm.copy()
    mirrored[..., 0] = 512 - mirrored[..., 0]
    from headswap.structures.face_labels import ibug68_flip_index
    mirrored = mirrored[:, ibug68_flip_index()]
    flipped = head_pose_angles(mirrored)
    np.testing.assert_allclose(flipped[:, 0], -angles[:, 0], atol=1e-6)   # yaw
    np.testing.assert_allclose(flipped[:, 1], angles[:, 1], atol=1e-6)    # pitch
    theta = np.radians(20)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    rolled = head_pose_angles((lm - 256) @ rot.T + 256)
    np.testing.assert_allclose(rolled[:, 2], angles[:, 2] + 20, atol=1e-6)
    np.testing.assert_allclose(rolled[:, :2], angles[:, :2], atol=1e-6)


def test_farthest_point_sampling():
    poses = np.array([[0, 0, 0], [40, 0, 0], [-40, 0, 0], [0, 20, 0], [0, -95, 0], [2, 1, 0],
                      [38, 1, 0]], np.float64)
    assert list(farthest_point_sampling(poses, 3)) == [0, 4, 1]
    # robust: the implausible pitch (a failed landmark fit) is not picked
    assert list(farthest_point_sampling(poses, 3, robust=True)) == [0, 1, 2]
    assert list(farthest_point_sampling(poses, 10)) == list(range(7))
