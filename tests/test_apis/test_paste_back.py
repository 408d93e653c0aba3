"""Paste-back: the inverse of the alignment, and bytes outside the edited region untouched."""
import cv2
import numpy as np
import torch

from headswap.apis.paste_back import crop_footprints, feather_mask, paste_back
from headswap.datasets.preparation.alignment import similarity_transform, template_points
from tests.test_apis.media_fixtures import sample_frame, scene

S = 64


def _matrix(angle: float, scale: float, tx: float, ty: float) -> np.ndarray:
    src = template_points(2.0, S) / S * 100 * scale
    theta = np.radians(angle)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return similarity_transform(src @ rot.T + [tx, ty], template_points(2.0, S))


def test_feather_mask_lies_inside_the_edit_region():
    edit = torch.zeros(1, 1, S, S)
    edit[..., 10:50, 12:60] = 1
    alpha = feather_mask(edit, 6)
    assert (alpha[edit == 0] == 0).all()
    assert alpha.max() == 1 and 0 < alpha[0, 0, 30, 14] < 1  # a ramp at the region's edge
    assert (alpha[..., :, -1] == 0).all()                     # faded at the crop border


def test_paste_back_inverts_the_alignment_and_keeps_bytes_outside():
    frame = scene(160, 120)
    frame[20:100, 40:120] = cv2.resize(sample_frame(0), (80, 80))
    m = _matrix(12.0, 0.9, 30.0, 10.0)
    crop = cv2.warpAffine(frame, m, (S, S), flags=cv2.INTER_LINEAR)
    edit = np.zeros((S, S), np.float32)
    edit[14:54, 14:50] = 1
    t = lambda a: torch.from_numpy(a).permute(2, 0, 1)[None]  # noqa: E731
    frames = t(frame)
    alpha = feather_mask(torch.from_numpy(edit)[None, None], 4)

    # pasting the unchanged crop back reproduces the frame up to resampling
    same = paste_back(frames, t(crop).float() / 127.5 - 1, alpha, [m])
    diff = np.abs(same[0].permute(1, 2, 0).numpy().astype(int) - frame.astype(int))
    inside = cv2.warpAffine(edit, cv2.invertAffineTransform(m), (160, 120)) > 0.99
    assert diff[inside].mean() < 6.0

    # a white crop: changes only where the warped-back edit region is (dilated 2 px)
    white = torch.ones(1, 3, S, S)
    out = paste_back(frames, white, alpha, [m])[0].permute(1, 2, 0).numpy()
    region = cv2.warpAffine(edit, cv2.invertAffineTransform(m), (160, 120),
                            flags=cv2.INTER_NEAREST)
    region = cv2.dilate(region, np.ones((5, 5), np.uint8)) > 0
    assert np.array_equal(out[~region], frame[~region])
    core = cv2.erode(edit, np.ones((19, 19), np.uint8))  # past the feather ramp
    core = cv2.warpAffine(core, cv2.invertAffineTransform(m), (160, 120)) > 0.99
    assert core.sum() > 50 and (out[core] == 255).all()
    x0, y0, x1, y1 = crop_footprints([m], S, (160, 120))[0]
    assert np.array_equal(out[:y0], frame[:y0]) and np.array_equal(out[:, x1:], frame[:, x1:])


def test_paste_back_batches_frames_with_different_footprints():
    frames = torch.from_numpy(np.stack([scene(96, 80, i) for i in range(3)])).permute(0, 3, 1, 2)
    mats = [_matrix(a, s, x, y) for a, s, x, y in ((0, 0.5, 5, 5), (-20, 0.3, 40, 30),
                                                   (45, 0.6, -10, -20))]
    alpha = torch.ones(3, 1, S, S)
    alpha[..., :2, :] = alpha[..., -2:, :] = alpha[..., :, :2] = alpha[..., :, -2:] = 0
    out = paste_back(frames, torch.ones(3, 3, S, S), alpha, mats)
    for i in range(3):
        single = paste_back(frames[i:i + 1], torch.ones(1, 3, S, S), alpha[i:i + 1], [mats[i]])
        assert torch.equal(out[i], single[0])
        assert (out[i] != frames[i]).any()
