import numpy as np
import pytest

from headswap.datasets.transforms import ComposeHeadOverScene, PerturbHeadMask, ShiftHeadColor
from tests.toy_head2scene import HEAD_LABELS, face_layout, render


def frame(size: int = 64, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    lab = face_layout(size, rng)
    return dict(target_img=render(lab, rng), target_parsing=lab)


def test_perturb_head_mask_grows_the_target_head_only():
    results = frame()
    img, lab = results['target_img'].copy(), results['target_parsing'].copy()
    np.random.seed(0)
    out = PerturbHeadMask(HEAD_LABELS, min_grow=0.05, max_grow=0.1)(results)
    lut = np.isin(np.arange(256), HEAD_LABELS)
    head, grown = lut[lab], lut[out['target_parsing']]
    band = grown & ~head
    assert np.array_equal(out['target_img'], img)  # I_T stays the ground truth
    assert (grown >= head).all() and band.sum() > 0.02 * head.size
    # A: T's head, pixel-aligned; the band is scene in A, filled (not T's pixels)
    assert np.array_equal(lut[out['head_parsing']], head)
    assert np.array_equal(out['head_img'][head], img[head])
    assert np.array_equal(out['head_img'][~grown], img[~grown])
    assert not lut[out['head_parsing'][band]].any()
    assert np.abs(out['head_img'][band].astype(int) - img[band]).mean() > 1


def test_perturb_head_mask_draws_from_numpy_global_rng_only():
    t = PerturbHeadMask(HEAD_LABELS)
    np.random.seed(3)
    a = t(frame())
    np.random.seed(3)
    b = t(frame())
    np.random.seed(4)
    c = t(frame())
    assert np.array_equal(a['target_parsing'], b['target_parsing'])
    assert np.array_equal(a['head_img'], b['head_img'])
    assert not np.array_equal(a['target_parsing'], c['target_parsing'])


def test_frame_without_head_passes_through():
    results = frame()
    results['target_parsing'][:] = 0
    out = PerturbHeadMask(HEAD_LABELS)(results)
    assert np.array_equal(out['head_img'], out['target_img'])
    assert out['head_parsing'].max() == 0


def test_shift_head_color_changes_only_the_head():
    np.random.seed(1)
    results = PerturbHeadMask(HEAD_LABELS, prob=0.0)(frame())
    before = results['head_img'].copy()
    out = ShiftHeadColor(HEAD_LABELS, hue_shift=20, saturation_range=(1.3, 1.4),
                         brightness_range=(0.6, 0.7))(results)
    head = np.isin(out['head_parsing'], HEAD_LABELS)
    assert np.array_equal(out['head_img'][~head], before[~head])
    diff = np.abs(out['head_img'][head].astype(int) - before[head]).mean()
    assert diff > 10
    assert np.array_equal(out['target_img'], before)  # the ground truth is untouched


@pytest.mark.parametrize('transform', [PerturbHeadMask, ShiftHeadColor])
def test_bad_inputs_name_the_key(transform):
    results = frame()
    results['head_img'], results['head_parsing'] = results['target_img'], \
        results['target_parsing']
    results['target_parsing'] = results['target_parsing'][:32]
    results['head_parsing'] = results['head_parsing'][:32]
    key = 'target_parsing' if transform is PerturbHeadMask else 'head_parsing'
    with pytest.raises(ValueError, match=f'{key} is 32x64 but its image is 64x64'):
        transform(HEAD_LABELS)(results)
    results = frame()
    results['target_img'] = results['target_img'].astype(np.float32)
    with pytest.raises(ValueError, match='target_img must be an HxWx3 uint8'):
        PerturbHeadMask(HEAD_LABELS)(results)
    with pytest.raises(KeyError, match='head_img is missing'):
        ShiftHeadColor(HEAD_LABELS)(frame())


def test_compose_head_over_scene_removes_the_target_head():
    target = frame(seed=0)
    other = frame(seed=5)  # plays the stage-1 output: another head, its own background
    results = dict(target, head_img=other['target_img'], head_parsing=other['target_parsing'])
    out = ComposeHeadOverScene(HEAD_LABELS, hole_dilation=0.03)(dict(results))
    lut = np.isin(np.arange(256), HEAD_LABELS)
    a_head = lut[other['target_parsing']]
    t_head = lut[target['target_parsing']]
    assert np.array_equal(out['head_img'][a_head], other['target_img'][a_head])
    assert np.array_equal(lut[out['head_parsing']], a_head)  # no head label of T survives
    exposed = t_head & ~a_head
    assert exposed.any()
    skin = np.array([225, 180, 150])  # T's head colour must not be copied into the hole
    assert np.abs(out['head_img'][exposed].astype(int) - skin).sum(-1).min() > 30
    assert np.array_equal(out['head_img'][:, :4], target['target_img'][:, :4])  # scene kept
    with pytest.raises(ValueError, match='head_img is 32x32 but target_img is 64x64'):
        ComposeHeadOverScene(HEAD_LABELS)(dict(results, head_img=results['head_img'][:32, :32]))
