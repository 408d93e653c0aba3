import numpy as np
import pytest

from headswap.datasets.preparation.alignment import (TIGHT_TEMPLATE, five_points,
                                                     similarity_transform, smooth_points,
                                                     template_points, transform_points)


def test_similarity_transform_recovers_a_known_transform():
    rng = np.random.RandomState(0)
    src = rng.rand(5, 2) * 100
    angle, scale, t = 0.3, 2.5, np.array([10.0, -4.0])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = scale * src @ rot.T + t
    m = similarity_transform(src, dst)
    np.testing.assert_allclose(m[:, :2], scale * rot, atol=1e-9)
    np.testing.assert_allclose(m[:, 2], t, atol=1e-9)
    np.testing.assert_allclose(transform_points(src, m), dst, atol=1e-9)
    with pytest.raises(ValueError, match='degenerate'):
        similarity_transform(np.ones((5, 2)), dst)


def test_crop_scale_widens_the_window_around_the_face():
    tight = template_points(1.0, 512)
    np.testing.assert_allclose(tight, TIGHT_TEMPLATE * 512)
    wide = template_points(2.0, 512)
    eye_dist = lambda p: np.linalg.norm(p[1] - p[0])  # noqa: E731
    assert eye_dist(wide) == pytest.approx(eye_dist(tight) / 2)
    assert eye_dist(wide) == pytest.approx(80.6, abs=0.5)  # documented default geometry
    # the face stays centred horizontally
    assert wide[:, 0].mean() == pytest.approx(256, abs=2)
    with pytest.raises(ValueError, match='crop_scale'):
        template_points(0.5)


def test_five_points_from_ibug68():
    lm = np.zeros((68, 2))
    lm[36:42] = [10, 20]
    lm[42:48] = [30, 20]
    lm[30] = [20, 30]
    lm[48], lm[54] = [12, 40], [28, 40]
    np.testing.assert_allclose(five_points(lm), [[10, 20], [30, 20], [20, 30], [12, 40],
                                                 [28, 40]])


def test_smoothing_reduces_jitter_and_keeps_static_points():
    rng = np.random.RandomState(0)
    frames = np.arange(100)
    truth = np.stack([np.stack([frames * 0.5, frames * 0.0 + 7], 1)] * 5, axis=1)
    noisy = truth + rng.randn(*truth.shape)
    smooth = smooth_points(noisy, frames, sigma=3)
    assert np.abs(smooth - truth)[10:-10].mean() < 0.5 * np.abs(noisy - truth)[10:-10].mean()
    static = np.ones((10, 5, 2))
    np.testing.assert_allclose(smooth_points(static, np.arange(10), 2.0), static)
    np.testing.assert_allclose(smooth_points(noisy, frames, 0), noisy)
    # frames far apart (a gap) do not influence each other
    gap = smooth_points(np.array([[[0., 0.]], [[100., 0.]]]), np.array([0, 50]), sigma=2)
    np.testing.assert_allclose(gap[:, 0, 0], [0, 100])
