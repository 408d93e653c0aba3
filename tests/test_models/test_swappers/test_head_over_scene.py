"""The tensor composition of A's head over T's scene against the numpy transform."""
import cv2
import numpy as np
import pytest
import torch

from headswap.datasets.transforms import ComposeHeadOverScene
from headswap.datasets.transforms.frame_io import read_labels, read_rgb
from headswap.models.swappers.head_over_scene import (compose_head_over_scene, dilate_ellipse,
                                                      gaussian_blur_cv2, label_lut,
                                                      nearest_seed_index)
from headswap.structures.face_labels import HEAD_LABELS

SAMPLE = 'data/sample/{}/carphone/pristine/00001/{:06d}.{}'


def _frame(index: int, size: int):
    img = read_rgb(SAMPLE.format('frames', index, 'jpg'))
    lab = read_labels(SAMPLE.format('parsing', index, 'png'))
    return (cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA),
            cv2.resize(lab, (size, size), interpolation=cv2.INTER_NEAREST))


def test_nearest_seed_index_is_the_exact_nearest_seed():
    gen = torch.Generator().manual_seed(0)
    seeds = torch.rand(2, 37, 53, generator=gen) > 0.97
    seeds[1] = False
    seeds[1, 5, 7] = True
    idx = nearest_seed_index(seeds)
    ys, xs = torch.meshgrid(torch.arange(37), torch.arange(53), indexing='ij')
    for b in range(2):
        sy, sx = seeds[b].nonzero(as_tuple=True)
        d2 = (ys[..., None] - sy) ** 2 + (xs[..., None] - sx) ** 2
        best = d2.min(-1).values
        got = (ys - idx[b] // 53) ** 2 + (xs - idx[b] % 53) ** 2
        assert torch.equal(got, best)
    assert (nearest_seed_index(torch.zeros(1, 8, 8, dtype=torch.bool)) == -1).all()


def test_dilation_and_blur_match_opencv():
    rng = np.random.default_rng(0)
    mask = rng.random((40, 48)) > 0.98
    ref = cv2.dilate(mask.astype(np.uint8),
                     cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))).astype(bool)
    got = dilate_ellipse(torch.from_numpy(mask)[None, None], 3)[0, 0].numpy()
    assert np.array_equal(got, ref)
    img = rng.random((40, 48, 3)).astype(np.float32)
    ref = cv2.GaussianBlur(img, (7, 7), 0)
    got = gaussian_blur_cv2(torch.from_numpy(img).permute(2, 0, 1)[None], 7)[0]
    np.testing.assert_allclose(got.permute(1, 2, 0).numpy(), ref, atol=1e-5)


@pytest.mark.parametrize('size', [64, 128])
def test_matches_compose_head_over_scene_on_real_frames(size):
    target, target_lab = _frame(0, size)
    head, head_lab = _frame(30, size)  # another frame of the clip: another head shape
    transform = ComposeHeadOverScene(HEAD_LABELS, hole_dilation=0.02, fill_blur=0.02)
    ref = transform(dict(target_img=target, target_parsing=target_lab, head_img=head,
                         head_parsing=head_lab))
    img, lab = compose_head_over_scene(
        torch.from_numpy(head).permute(2, 0, 1)[None].float(),
        torch.from_numpy(head_lab)[None, None].long(),
        torch.from_numpy(target).permute(2, 0, 1)[None].float(),
        torch.from_numpy(target_lab)[None, None].long(), label_lut(HEAD_LABELS), 0.02, 0.02)
    lab = lab[0, 0].numpy()
    img = img[0].permute(1, 2, 0).round().clamp(0, 255).numpy()
    # identical wherever the fill is not involved; the nearest fill differs only at ties
    assert (lab == ref['head_parsing']).mean() > 0.98
    head_px = np.isin(head_lab, HEAD_LABELS)
    assert np.array_equal(img[head_px], ref['head_img'][head_px].astype(np.float32))
    assert np.abs(img - ref['head_img'].astype(np.float32)).mean() < 2.0
    hole = np.isin(target_lab, HEAD_LABELS) & ~head_px
    assert hole.any()
    assert not np.isin(lab[hole], HEAD_LABELS).any()  # nothing of T's head survives
