"""The spatial driver path: landmark heat maps into the LPD generator, through the aligner."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from headswap.models.generators import IBUG68_PARTS, LandmarkHeatmap, LPDGenerator
from headswap.registry import MODELS
from tests.synthetic_head2head import SyntheticHead2HeadDataset
from tests.test_models.test_aligners.test_head2head_aligner import optim_for

TINY_CONFIG = 'configs/head2head/head2head_aligner_tiny_1xb2-1k_sample-32.py'


def test_heatmap_peaks_where_the_part_is():
    rast = LandmarkHeatmap(size=16, sigma=1.0)
    lm = torch.full((1, 68, 2), 0.5)
    lm[0, 48:60] = torch.tensor([0.25, 0.75])  # the outer lips at x = 4, y = 12 (pixel 3.5+)
    maps = rast(lm)
    assert maps.shape == (1, len(IBUG68_PARTS), 16, 16)
    assert float(maps.max()) <= 1.0 and float(maps.min()) >= 0.0
    peak = int(maps[0, 6].flatten().argmax())
    assert (peak // 16, peak % 16) in {(11, 3), (11, 4), (12, 3), (12, 4)}
    # the other parts sit at the centre, not where the lips are
    assert float(maps[0, 0, 12, 4]) < 0.01 and float(maps[0, 0, 8, 8]) > 0.5
    with pytest.raises(ValueError, match='landmarks'):
        rast(torch.zeros(1, 10, 2))


def test_conditioned_generator_depends_on_the_condition():
    torch.manual_seed(0)
    g = LPDGenerator(channels=(32, 32, 16, 8), const_size=4, num_res_blocks=1,
                     out_resolution=32, cond_channels=8, cond_max_size=16)
    # blocks whose input is 8 or 16 pixels get the condition (not the 4x4 ones)
    assert sorted(g.cond_convs) == ['2', '3']
    params = torch.randn(2, g.num_adain_params) * 0.1
    a = torch.zeros(2, 8, 16, 16)
    b = a.clone()
    b[:, :, 2:6, 10:14] = 1.0
    img_a, _ = g(params, a)
    img_b, _ = g(params, b)
    assert (img_a - img_b).abs().mean() > 1e-3
    with pytest.raises(ValueError, match='cond_channels=8'):
        g(params)
    plain = LPDGenerator(channels=(32, 32, 16, 8), const_size=4, num_res_blocks=1,
                         out_resolution=32)
    assert len(plain.cond_convs) == 0 and plain(params)[0].shape == (2, 3, 32, 32)


@pytest.fixture(scope='module')
def cfg():
    import headswap.engine  # noqa: F401  (registers the optimizer constructor)
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.model.landmark_map = dict(type='LandmarkHeatmap', size=32, sigma=1.0)
    cfg.model.generator.cond_channels = 8
    return cfg


def _batch(size=32):
    torch.manual_seed(0)
    ds = SyntheticHead2HeadDataset(num_identities=2, frames=3, num_sources=2, size=size)
    data = pseudo_collate([ds[i] for i in range(2)])
    for i, s in enumerate(data['data_samples']):
        s.gt_landmarks = torch.rand(68, 2) * (size - 1) * 0.5 + size * 0.25 * (i + 1) * 0.5
    return data


def test_preprocessor_normalises_the_drivers_landmarks(cfg):
    model = MODELS.build(copy.deepcopy(cfg.model))
    data = _batch()
    out = model.data_preprocessor(data)
    expected = (torch.stack([s.gt_landmarks for s in data['data_samples']]) + 0.5) / 32
    assert torch.allclose(out['inputs']['driver_landmarks'], expected)


def test_aligner_trains_and_follows_the_landmarks(cfg):
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg.model)).train()
    wrappers = optim_for(cfg, model)
    before = {k: v.clone() for k, v in model.generator.cond_convs.state_dict().items()}
    log = model.train_step(_batch(), wrappers)
    assert all(torch.isfinite(v) for v in log.values()) and log['skipped_updates'] == 0
    after = model.generator.cond_convs.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)  # the path trains

    model.eval()
    inputs = model.data_preprocessor(_batch())['inputs']
    img, _ = model(inputs)
    moved = dict(inputs, driver_landmarks=(inputs['driver_landmarks'] + 0.2).clamp(0, 1))
    img_moved, _ = model(moved)
    assert (img - img_moved).abs().mean() > 1e-4  # same driver image, other landmarks
    with pytest.raises(ValueError, match='landmark-conditioned'):
        model({k: v for k, v in inputs.items() if k != 'driver_landmarks'})
    data = _batch()
    for s in data['data_samples']:
        del s.gt_landmarks  # data without landmarks: one clear error, also in training
    with pytest.raises(ValueError, match='gt_landmarks'):
        model.train().train_step(data, wrappers)


def test_config_mismatches_are_refused(cfg):
    bad = copy.deepcopy(cfg.model)
    bad.generator.cond_channels = 4
    with pytest.raises(ValueError, match='cond_channels=4'):
        MODELS.build(bad)


@pytest.mark.parametrize('rotation', [0.0, 20.0])
def test_pose_augmentation_moves_the_landmarks_the_generator_sees(cfg, rotation):
    """With ``pose_augmentation`` the heat maps are drawn from the moved landmarks (where
    the face parts are in the moved frames), not from the data's."""
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.pose_augmentation = dict(type='PoseAugmentation', rotation=rotation,
                                       scale=(0.8, 1.2) if rotation else (1.0, 1.0),
                                       translation=0.1 if rotation else 0.0)
    torch.manual_seed(0)
    model = MODELS.build(model_cfg).train()
    wrappers = optim_for(cfg, model)
    seen = []
    model.landmark_map.register_forward_hook(lambda m, args, out: seen.append(args[0].clone()))
    data = _batch()
    given = model.data_preprocessor(copy.deepcopy(data))['inputs']['driver_landmarks']
    log = model.train_step(data, wrappers)
    assert all(torch.isfinite(v) for v in log.values())
    moved = (seen[0] - given).abs().amax()
    if rotation:
        assert moved > 0.01
    else:
        assert moved < 1e-5


def test_l1_landmark_weight_weights_the_pixels_at_the_targets_landmarks(cfg):
    """``l1_landmark_weight``: the logged L1 is the mean weighted by 1 + w * (largest heat
    map), at the landmarks the generator is given; 0 gives the plain mean of the same pass."""
    data = _batch()
    logs = {}
    for w in (0.0, 4.0):
        model_cfg = copy.deepcopy(cfg.model)
        model_cfg.update(l1_landmark_weight=w, driver_augmentation=None)
        torch.manual_seed(0)
        model = MODELS.build(model_cfg).train()
        seen = []
        model.losses['l1'].register_forward_hook(
            lambda m, args, out: seen.append([a if a is None else a.detach().clone()
                                              for a in args]))
        logs[w] = model.train_step(copy.deepcopy(data), optim_for(cfg, model))
        fake, real, weight = seen[0]
        diff = (fake - real).abs()
        if w == 0:
            assert weight is None
            assert torch.allclose(logs[w]['loss_l1'], model.losses['l1'].loss_weight * diff.mean())
            continue
        lms = model.data_preprocessor(copy.deepcopy(data))['inputs']['driver_landmarks']
        heat = model.landmark_map(lms).amax(1, keepdim=True)  # 32 px maps: the image's grid
        assert torch.allclose(weight, 1 + w * heat)
        assert float(weight.amax()) > 1 + 0.9 * w and float(weight.amin()) < 1.01
        expected = (diff * weight).sum() / weight.expand_as(diff).sum()
        assert torch.allclose(logs[w]['loss_l1'], model.losses['l1'].loss_weight * expected)
        assert not torch.allclose(logs[w]['loss_l1'], logs[0.0]['loss_l1'])
    bad = copy.deepcopy(cfg.model)
    bad.update(landmark_map=None, l1_landmark_weight=1.0)
    bad.generator.cond_channels = 0
    with pytest.raises(ValueError, match='l1_landmark_weight'):
        MODELS.build(bad)
