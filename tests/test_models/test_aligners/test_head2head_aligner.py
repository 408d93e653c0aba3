import copy

import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.runner.checkpoint import load_state_dict

from headswap.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from headswap.structures import HeadSwapDataSample
from tests.synthetic_head2head import SyntheticHead2HeadDataset

G_LOSSES = {'loss_l1', 'loss_vgg', 'loss_identity', 'loss_arcface_fm', 'loss_g_adv',
            'loss_disc_fm', 'loss_mask'}


def build(cfg, **overrides):
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.update(overrides)
    torch.manual_seed(0)
    return MODELS.build(model_cfg)


def optim_for(cfg, model):
    optim = dict(copy.deepcopy(cfg.optim_wrapper))
    constructor = optim.pop('constructor')
    return OPTIM_WRAPPER_CONSTRUCTORS.build(dict(type=constructor, optim_wrapper_cfg=optim))(model)


def batch(k=2, b=2, size=32, seed=0):
    torch.manual_seed(seed)
    import numpy as np
    np.random.seed(seed)
    ds = SyntheticHead2HeadDataset(num_identities=2, frames=k + 1, num_sources=k, size=size)
    return pseudo_collate([ds[i] for i in range(b)])


def state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def same(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize('k', [1, 4])
def test_kshot_predictions(cfg, k):
    model = build(cfg).eval()
    out = model.val_step(batch(k=k))
    assert len(out) == 2 and isinstance(out[0], HeadSwapDataSample)
    s = out[0]
    assert s.source_imgs.shape == (k, 3, 32, 32) and s.source_imgs.dtype == torch.uint8
    for key in ('driver_img', 'gt_img', 'pred_img'):
        assert s.get(key).shape == (3, 32, 32) and s.get(key).dtype == torch.uint8
    assert s.pred_mask.shape == (1, 32, 32) and s.pred_mask.dtype == torch.float32
    img, mask = model(model.data_preprocessor(batch(k=k))['inputs'])
    assert img.shape == (2, 3, 32, 32) and mask.shape == (2, 1, 32, 32)


def test_train_step_logs_every_loss_and_k_varies(cfg):
    model = build(cfg).train()
    optim = optim_for(cfg, model)
    for k in (1, 4):
        log = model.train_step(batch(k=k), optim)
        assert G_LOSSES | {'loss_d_adv'} <= set(log)
        assert all(torch.isfinite(v) for v in log.values())
        assert log['skipped_updates'] == 0


def test_gradients_reach_generator_side_and_not_frozen_nets(cfg):
    model = build(cfg).train()
    data = model.data_preprocessor(batch(), True)
    fake, mask = model.reenact(data['inputs']['source_imgs'], data['inputs']['driver_img'])
    losses = model.generator_losses(data['targets']['gt_img'], fake, mask,
                                    data['targets']['gt_mask'])
    assert set(losses) == G_LOSSES
    sum(losses.values()).backward()
    for name in model.generator_modules:
        for pname, p in getattr(model, name).named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, f'{name}.{pname}'
    for name in ('vgg', 'identity_encoder', 'discriminator'):
        for pname, p in getattr(model, name).named_parameters():
            assert p.grad is None, f'{name}.{pname} got a gradient'
    assert all(p.requires_grad for p in model.discriminator.parameters())  # restored


def test_d_step_leaves_g_and_g_step_leaves_d(cfg):
    model = build(cfg).train()
    optim = optim_for(cfg, model)
    data = model.data_preprocessor(batch(), True)
    real, gt_mask = data['targets']['gt_img'], data['targets']['gt_mask']
    fake, mask = model.reenact(data['inputs']['source_imgs'], data['inputs']['driver_img'])

    g_before, d_before = state(model._generator_side()), state(model.discriminator)
    d_out = model.discriminator_loss(real, fake)
    assert model._update(optim['discriminator'], d_out['loss_d_adv'])
    assert same(g_before, state(model._generator_side()))
    d_after = state(model.discriminator)
    assert not same(d_before, d_after)

    g_loss = sum(model.generator_losses(real, fake, mask, gt_mask).values())
    assert model._update(optim['generator'], g_loss)
    assert same(d_after, state(model.discriminator))  # weights and spectral-norm vectors
    assert not same(g_before, state(model._generator_side()))
    assert all(p.grad is None for p in model.discriminator.parameters())


def test_ema_follows_generator(cfg):
    model = build(cfg).train()
    optim = optim_for(cfg, model)
    model.train_step(batch(), optim)  # first update copies
    model.train_step(batch(seed=1), optim)
    live = dict(model._generator_side().named_parameters())
    ema = dict(model.ema.module.named_parameters())
    assert set(live) == set(ema) and int(model.ema.steps) == 2
    assert any(not torch.equal(live[k], ema[k]) for k in live)
    assert all(not p.requires_grad for p in ema.values())


def test_non_finite_update_is_skipped(cfg):
    model = build(cfg, losses=dict(l1=dict(type='L1Loss', loss_weight=float('nan')))).train()
    optim = optim_for(cfg, model)
    g_before, d_before = state(model._generator_side()), state(model.discriminator)
    log = model.train_step(batch(), optim)
    assert torch.isnan(log['loss_l1']) and log['skipped_updates'] == 1
    g_after = state(model._generator_side())
    params = {n for n, _ in model._generator_side().named_parameters()}
    assert all(torch.equal(g_before[k], g_after[k]) for k in g_before if k in params)
    assert not same(d_before, state(model.discriminator))  # the finite D update went through
    assert all(torch.isfinite(v).all() for v in g_after.values() if v.is_floating_point())


def fused(cfg):
    """``cfg`` with fused Adam for both players: the non-finite check stays on the device."""
    cfg = copy.deepcopy(cfg)
    for part in ('generator', 'discriminator'):
        cfg.optim_wrapper[part].optimizer.fused = True
    return cfg


def test_fused_optimizer_skips_non_finite_update_on_the_device(cfg):
    """The same outcome as the host check: the bad generator update and its EMA update are
    left out, the good D update goes through; what says so is a tensor, not a bool."""
    cfg = fused(cfg)
    model = build(cfg).train()
    optim = optim_for(cfg, model)
    model.train_step(batch(), optim)  # finite: the EMA has started, Adam has a step
    model.losses['l1'].loss_weight = float('nan')
    g_before, d_before = state(model._generator_side()), state(model.discriminator)
    ema_before = {k: v.clone() for k, v in model.ema.module.named_parameters()}
    log = model.train_step(batch(seed=1), optim)
    assert isinstance(log['skipped_updates'], torch.Tensor) and log['skipped_updates'] == 1
    assert torch.isnan(log['loss_l1'])
    params = {n for n, _ in model._generator_side().named_parameters()}
    g_after = state(model._generator_side())
    assert all(torch.equal(g_before[k], g_after[k]) for k in g_before if k in params)
    # the averaged weights stay; buffers (spectral-norm vectors) follow the live model
    assert all(torch.equal(ema_before[k], v) for k, v in model.ema.module.named_parameters())
    assert not same(d_before, state(model.discriminator))
    steps = {int(s['step']) for s in optim['generator'].optimizer.state.values()}
    assert steps == {1}  # Adam's step count is not advanced by the skipped step either
    assert optim['generator'].optimizer.state and not hasattr(
        optim['generator'].optimizer, 'found_inf')  # the flag does not outlive the step


def test_fused_optimizer_trains_like_the_host_check(cfg, monkeypatch):
    """Finite steps: the device flag changes nothing against the same fused Adam checked on
    the host (foreach and fused Adam differ in rounding, so both runs use fused)."""
    from headswap.models.base_models import two_player_gan
    cfg = fused(cfg)
    runs, host_checks = [], []
    check = two_player_gan.grads_finite
    monkeypatch.setattr(two_player_gan, 'grads_finite',
                        lambda opt: host_checks.append(1) or check(opt))
    for on_device in (False, True):
        monkeypatch.setattr(two_player_gan, 'skips_on_device', lambda opt: on_device)
        host_checks.clear()
        model = build(cfg).train()
        optim = optim_for(cfg, model)
        for seed in range(2):
            log = model.train_step(batch(seed=seed), optim)
        assert float(log['skipped_updates']) == 0
        assert len(host_checks) == (0 if on_device else 4)  # D and G, two steps
        runs.append((state(model._generator_side()), state(model.ema.module),
                     state(model.discriminator)))
    (g0, ema0, d0), (g1, ema1, d1) = runs
    assert same(g0, g1) and same(d0, d1)
    # the masked average is computed as avg + m * (w - avg), not lerp: rounding apart
    assert all(torch.allclose(ema0[k].float(), ema1[k].float(), atol=1e-6) for k in ema0)


def test_init_from_ema_for_fine_tuning(cfg):
    meta = build(cfg).train()
    optim = optim_for(cfg, meta)
    meta.train_step(batch(), optim)
    meta.train_step(batch(seed=1), optim)
    checkpoint = state(meta)
    ft = build(cfg, ema=None, init_from_ema=True)
    load_state_dict(ft, checkpoint, strict=True)  # mmengine's loader, as the Runner uses
    ema = dict(meta.ema.module.state_dict())
    for k, v in ft._generator_side().state_dict().items():
        assert torch.equal(v, ema[k]), k
    assert ft.ema is None
    with pytest.raises(ValueError, match='needs ema=None'):
        build(cfg, init_from_ema=True)


def test_config_errors(cfg):
    with pytest.raises(ValueError, match='resolution=64 but the generator makes 32x32'):
        build(cfg, data_preprocessor=dict(type='Head2HeadDataPreprocessor', resolution=64))
    with pytest.raises(ValueError, match="unknown losses \\['perceptual'\\]"):
        build(cfg, losses=dict(perceptual=dict(type='L1Loss')))
    model = build(cfg)
    with pytest.raises(ValueError, match="not 'loss'"):
        model(model.data_preprocessor(batch())['inputs'], mode='loss')


def test_source_code_reuse_matches_reenact(cfg):
    model = build(cfg).eval()
    data = model.data_preprocessor(batch())['inputs']
    code = model.encode_sources(data['source_imgs'])
    a = model.animate(code, data['driver_img'])
    b = model.reenact(data['source_imgs'], data['driver_img'])
    torch.testing.assert_close(a[0], b[0])


def test_gradient_accumulation_steps_every_n_iterations(cfg):
    """``accumulative_counts`` on the wrappers (small per-GPU batches): the first train_step
    only accumulates, the second applies one update to G and to D."""
    model = build(cfg).train()
    optim = dict(copy.deepcopy(cfg.optim_wrapper))
    constructor = optim.pop('constructor')
    for name in ('generator', 'discriminator'):
        optim[name]['accumulative_counts'] = 2
    optim = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type=constructor, optim_wrapper_cfg=optim))(model)
    optim.initialize_count_status(model, 0, 4)

    def params(module):  # weights only (spectral norm's u vectors move on every forward)
        return {k: p.detach().clone() for k, p in module.named_parameters()}

    g0, d0 = params(model.generator), params(model.discriminator)
    model.train_step(batch(seed=0), optim)
    assert same(params(model.generator), g0) and same(params(model.discriminator), d0)
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.generator.parameters())
    model.train_step(batch(seed=1), optim)
    assert not same(params(model.generator), g0)
    assert not same(params(model.discriminator), d0)
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.generator.parameters())
