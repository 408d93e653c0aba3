import math

import pytest
import torch

from headswap.evaluation.functional import psnr, ssim
from headswap.evaluation.metrics import PSNR, SSIM
from headswap.utils.cli import UserError
from .samples import evaluate, real_frames, sample_dict


def test_identical_images_give_the_cap_and_ssim_one():
    imgs = real_frames(32, num=4)
    samples = [sample_dict(pred_img=x, gt_img=x.clone()) for x in imgs]
    assert evaluate(PSNR(max_db=100.0), samples) == {'PSNR': 100.0}
    assert evaluate(SSIM(), samples)['SSIM'] == pytest.approx(1.0, abs=1e-12)


def test_psnr_of_a_known_error():
    gt = torch.full((3, 16, 16), 100, dtype=torch.uint8)
    pred = gt + 10  # MSE 100 -> 10 log10(255^2 / 100)
    assert psnr(pred, gt) == pytest.approx(10 * math.log10(255 ** 2 / 100))


def test_regions_only_count_their_pixels():
    gt = torch.zeros((3, 8, 8), dtype=torch.uint8)
    pred = gt.clone()
    pred[:, :, 4:] = 50  # wrong in the right half only
    head = torch.zeros((1, 8, 8))
    head[..., :4] = 1  # the left half
    inpaint = 1 - head
    empty = torch.zeros((1, 8, 8))
    samples = [sample_dict(pred_img=pred, gt_img=gt, head_mask=head, inpaint_mask=inpaint,
                           empty_mask=empty)]
    out = evaluate(PSNR(regions=dict(whole=None, head='head_mask', inpaint='inpaint_mask',
                                     empty='empty_mask')), samples)
    assert out['PSNR_head'] == 100.0
    assert out['PSNR_inpaint'] == pytest.approx(10 * math.log10(255 ** 2 / 2500))
    assert out['PSNR'] == pytest.approx(10 * math.log10(255 ** 2 / 1250))
    assert 'PSNR_empty' not in out  # no image has pixels there


def test_ssim_matches_scikit_image():
    metrics = pytest.importorskip('skimage.metrics')
    a, b = real_frames(48, num=2)
    ref = metrics.structural_similarity(
        a.permute(1, 2, 0).numpy(), b.permute(1, 2, 0).numpy(), gaussian_weights=True,
        sigma=1.5, use_sample_covariance=False, data_range=255, channel_axis=2)
    assert ssim(a, b) == pytest.approx(ref, abs=1e-9)
    assert ssim(a, b) < 0.99


def test_images_of_different_sizes_are_a_one_line_error():
    samples = [sample_dict(pred_img=real_frames(32, num=1)[0], gt_img=real_frames(48, num=1)[0])]
    for metric in (PSNR(), SSIM()):
        with pytest.raises(UserError, match=r'images of different sizes, \(32, 32\) vs \(48, 48\)'):
            evaluate(metric, samples)


def test_missing_field_names_it():
    samples = [sample_dict(pred_img=real_frames(16, num=1)[0])]
    with pytest.raises(KeyError, match="no 'gt_img'"):
        evaluate(PSNR(), samples)
