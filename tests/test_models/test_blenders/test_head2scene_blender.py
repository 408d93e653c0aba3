import copy

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from headswap.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from headswap.utils import register_all_modules
from tests.baselines import identity_map, l1, mean_image, torch_threads
from tests.toy_head2scene import HEAD_LABELS, ToyHead2SceneDataset

TINY = 'configs/head2scene/head2scene_vgg19-unet5_1xb2-20_tiny-64x64.py'
FULL = 'configs/head2scene/head2scene_vgg19-unet7_2xb4-200k_voxceleb2-512x512.py'
LOSS_KEYS = {'loss_perceptual', 'loss_l1', 'loss_cycle', 'loss_cycle_other', 'loss_gan_g',
             'loss_gan_d'}
GENERATOR = ('warping', 'unet')


@pytest.fixture(scope='module')
def tiny_cfg():
    register_all_modules()
    return Config.fromfile(TINY)


def build(cfg, **overrides):
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.update(overrides)
    torch.manual_seed(0)
    return MODELS.build(model_cfg)


def data(num: int = 2) -> dict:
    pipeline = [dict(type='PerturbHeadMask', head_labels=HEAD_LABELS, max_grow=0.1),
                dict(type='ShiftHeadColor', head_labels=HEAD_LABELS)]
    ds = ToyHead2SceneDataset(num=num, size=64, pipeline=pipeline)
    return pseudo_collate([ds[i] for i in range(num)])


def optim(cfg, model):
    parts = copy.deepcopy(cfg.optim_wrapper)
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type=parts.pop('constructor'), optim_wrapper_cfg=parts))
    return constructor(model)


def snapshot(module: torch.nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def changed(before: dict, module: torch.nn.Module) -> bool:
    return any(not torch.equal(before[k], v) for k, v in module.state_dict().items())


def test_optimizers_follow_the_paper(tiny_cfg):
    model = build(tiny_cfg)
    wrappers = optim(tiny_cfg, model)
    gen, disc = wrappers['generator'].optimizer, wrappers['discriminator'].optimizer
    # the paper's rates in the paper config; the tiny config trains at 10x (minutes on a CPU)
    full = Config.fromfile(FULL).optim_wrapper
    assert (full.generator.optimizer.lr, full.discriminator.optimizer.lr) == (1e-4, 4e-4)
    assert gen.param_groups[0]['lr'] == 1e-3 and disc.param_groups[0]['lr'] == 4e-3
    assert gen.param_groups[0]['betas'] == (0.9, 0.999)
    gen_params = {id(p) for g in gen.param_groups for p in g['params']}
    assert gen_params == {id(p) for m in GENERATOR for p in getattr(model, m).parameters()}
    assert not any(p.requires_grad for p in model.vgg.parameters())


def test_train_step_logs_every_loss(tiny_cfg):
    """Losses are logged and finite (learning itself: test_learns_beyond_trivial_baselines)."""
    model = build(tiny_cfg)
    wrappers = optim(tiny_cfg, model)
    batch = data()
    logs = [model.train_step(batch, wrappers) for _ in range(3)]
    assert LOSS_KEYS <= set(logs[0])
    assert all(torch.isfinite(v).all() for log in logs for v in log.values())
    assert logs[-1]['loss_l1'] < logs[0]['loss_l1']


def _edited_region_scores(model, batch) -> dict:
    """L1 in the edited region of the blender and of two trivial baselines on ``batch``."""
    model.eval()
    with torch.no_grad():
        inputs = model.data_preprocessor(batch, False)['inputs']
        out = model.generate(inputs)
    model.train()
    edit, head = out['edit_mask'], out['head_mask']
    target, head_img = inputs['target_img'], inputs['head_img']
    keep = 1 - edit
    fill = (target * keep).sum((2, 3), keepdim=True) / keep.sum((2, 3), keepdim=True)
    # the identity map of stage 2: the head pasted as it comes, the rest of the hole filled
    # with the scene's mean colour (learning_check.py's "paste")
    paste = keep * target + edit * (identity_map(head_img) * head + (1 - head) * fill)
    region = edit.expand_as(target) > 0.5
    return {name: l1(pred[region], target[region]) for name, pred in
            (('blender', out['pred']), ('paste', paste), ('mean image', mean_image(target)))}


def test_learns_beyond_trivial_baselines(tiny_cfg):
    """Fit one batch: in the edited region the output beats the pasted head and the targets'
    mean image (a blender that ignores its inputs can at best draw the mean there).

    Reconstruction losses only: the random-weight VGG's perceptual term, the cycle term and the
    GAN slow the tiny model down (it is still above both baselines after 400 steps with them).
    """
    model = build(tiny_cfg, loss_gan=dict(type='HingeGANLoss', loss_weight=0.0),
                  loss_perceptual=dict(tiny_cfg.model.loss_perceptual, loss_weight=0.0),
                  loss_cycle=dict(type='CycleConsistencyLoss', loss_weight=0.0))
    wrappers = optim(tiny_cfg, model)
    np.random.seed(0)
    batch = data()
    before = _edited_region_scores(model, batch)
    with torch_threads(1):
        for _ in range(200):
            model.train_step(batch, wrappers)
    scores = _edited_region_scores(model, batch)
    assert scores['blender'] < 0.9 * min(scores['paste'], scores['mean image']), (before, scores)


def test_discriminator_and_generator_steps_touch_only_their_side(tiny_cfg):
    model = build(tiny_cfg)
    wrappers = optim(tiny_cfg, model)
    inputs = model.data_preprocessor(data(), True)['inputs']
    out = model.generate(inputs, with_cycle=True)  # (updates the UNet's spectral-norm buffers)
    gen_before = {m: snapshot(getattr(model, m)) for m in GENERATOR}
    disc_before = snapshot(model.discriminator)
    model.train_discriminator(inputs, out, wrappers['discriminator'])
    assert changed(disc_before, model.discriminator)
    assert not any(changed(gen_before[m], getattr(model, m)) for m in GENERATOR)

    disc_before = snapshot(model.discriminator)
    out = model.generate(inputs, with_cycle=True)
    model.train_generator(inputs, out, wrappers['generator'])
    assert all(changed(gen_before[m], getattr(model, m)) for m in GENERATOR)
    assert not changed(disc_before, model.discriminator)  # weights and spectral-norm buffers
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.discriminator.parameters())
    assert all(p.requires_grad for p in model.discriminator.parameters())


def test_outputs_keep_the_scene_and_hide_the_target_head(tiny_cfg):
    model = build(tiny_cfg).eval()
    batch = data()
    inputs = model.data_preprocessor(batch)['inputs']
    seen = {}
    model.unet.register_forward_hook(lambda m, args, out: seen.__setitem__('x', args[0]))
    with torch.no_grad():
        out = model.generate(inputs)
        edit = out['edit_mask']
        assert torch.equal(out['pred'] * (1 - edit), inputs['target_img'] * (1 - edit))
        visible = seen['x'][:, 9:12].clone()
        # change T inside the edited region: what the UNet sees of T does not change
        inputs['target_img'] = inputs['target_img'] * (1 - edit) + edit * 0.5
        model.generate(inputs)
    assert torch.equal(seen['x'][:, 9:12], visible)
    assert seen['x'].shape[1] == 14


def test_val_step_returns_images_for_the_grid(tiny_cfg):
    model = build(tiny_cfg).eval()
    samples = model.val_step(data())
    assert len(samples) == 2
    s = samples[0]
    for key in ('target_img', 'head_img', 'head_color_exemplar', 'inpaint_exemplar', 'pred_img',
                'gt_img'):
        assert s.get(key).dtype == torch.uint8 and s.get(key).shape == (3, 64, 64), key
    for key in ('head_mask', 'inpaint_mask'):
        assert s.get(key).dtype == torch.float32 and s.get(key).shape == (1, 64, 64)
    assert s.metainfo['identity'] == 'id00000'


def test_forward_modes_and_empty_head_fallback(tiny_cfg):
    pre = dict(tiny_cfg.model.data_preprocessor, empty_head='keep_target')
    model = build(tiny_cfg, data_preprocessor=pre).eval()
    batch = data()
    batch['inputs']['head_parsing'][1].zero_()
    processed = model.data_preprocessor(batch)
    inputs = processed['inputs']
    with torch.no_grad():
        pred = model(inputs, mode='tensor')
        assert torch.equal(pred[1], inputs['target_img'][1])  # nothing to blend in
        assert not torch.equal(pred[0], inputs['target_img'][0])
        assert len(model(inputs, processed['data_samples'], mode='predict')) == 2
        losses = model(inputs, mode='loss')
    assert LOSS_KEYS - {'loss_gan_d'} == set(losses)
    with pytest.raises(ValueError, match='mode'):
        model(inputs, mode='bogus')


def test_second_cycle_target_option(tiny_cfg):
    inputs = None
    results = {}
    for target in ('other', 'target'):
        model = build(tiny_cfg, cycle_other_target=target).eval()
        inputs = inputs or model.data_preprocessor(data())['inputs']
        with torch.no_grad():
            out = model.generate(inputs, with_cycle=True)
            results[target] = model.generator_losses(inputs, out)['loss_cycle_other']
            expected = model.loss_cycle(out['cycle_other'], inputs[f'{target}_img'],
                                        out['cycle_other_weight'])
        assert results[target] == pytest.approx(float(expected))
    assert results['other'] != pytest.approx(float(results['target']))
    with pytest.raises(ValueError, match='cycle_other_target'):
        build(tiny_cfg, cycle_other_target='both')


def test_full_config_builds_and_its_label_groups_agree():
    register_all_modules()
    cfg = Config.fromfile(FULL)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.vgg.checkpoint = None  # no weights here
    model = MODELS.build(model_cfg)
    assert model.unet.num_levels == 7
    assert model.warping.in_channels == [256, 512] and model.warping.backend == 'auto'
    labels = cfg.model.masks.head_labels
    assert cfg.model.data_preprocessor.head_labels == labels
    for step in cfg.train_dataloader.dataset.pipeline:
        if 'head_labels' in step:
            assert step['head_labels'] == labels, step['type']
    assert cfg.train_cfg.max_iters == 200000


def test_bf16_autocast_step_is_finite(tiny_cfg):
    model = build(tiny_cfg)
    inputs = model.data_preprocessor(data(), True)['inputs']
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = model.generate(inputs, with_cycle=True)
        losses = model.generator_losses(inputs, out)
        sum(losses.values()).backward()
    losses = {k: v.detach() for k, v in losses.items()}
    assert all(torch.isfinite(v) for v in losses.values())
    assert abs(float(losses['loss_gan_g'])) < 10  # spectral norm warmed up: sane logits
    grad = model.warping.proj.weight.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_first_cycle_ignores_target_head_outside_the_head_of_a(tiny_cfg):
    model = build(tiny_cfg).eval()
    inputs = model.data_preprocessor(data())['inputs']
    with torch.no_grad():
        out = model.generate(inputs, with_cycle=True)
    orphan = torch.nn.functional.max_pool2d(out['inpaint_mask'] * out['target_head_mask'], 4)
    assert orphan.sum() > 0  # PerturbHeadMask grew T's head beyond A's
    assert out['cycle_weight'][orphan > 0].abs().max() == 0
    assert out['cycle_weight'][orphan == 0].min() > 0
