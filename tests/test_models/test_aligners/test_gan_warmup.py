"""gan_warmup: the generator side learns from the reconstruction terms alone at first;
gan_rampup: then the adversarial terms come in linearly."""
import copy

import pytest
import torch
from mmengine.logging import MessageHub

from tests.test_models.test_aligners.test_head2head_aligner import batch, build, optim_for


@pytest.fixture(autouse=True)
def _restore_iteration():
    hub = MessageHub.get_current_instance()
    before = hub.get_info('iter', 0)
    yield
    hub.update_info('iter', before)


def _step(cfg, iteration: int, **overrides):
    MessageHub.get_current_instance().update_info('iter', iteration)
    model = build(cfg, diagnostics_window=0, **overrides).train()
    log = model.train_step(batch(k=2, b=2), optim_for(cfg, model))
    return model, log


def _sgd_step(cfg, iteration: int, **overrides):
    """One step with plain SGD on the generator side: its weight change is -lr x gradient,
    linear in the factor of the adversarial terms."""
    cfg = copy.deepcopy(cfg)
    cfg.optim_wrapper.generator.optimizer = dict(type='SGD', lr=0.5)
    MessageHub.get_current_instance().update_info('iter', iteration)
    model = build(cfg, diagnostics_window=0, **overrides).train()
    log = model.train_step(batch(k=2, b=2), optim_for(cfg, model))
    return model, log
    return model, log


def _generator_state(model):
    return {k: v for k, v in model.state_dict().items() if k.startswith('generator.')}


def test_warmup_leaves_the_adversarial_terms_out_of_the_generator_update(cfg):
    reconstruction_only = dict(cfg.model.losses, gan=dict(type='HingeGANLoss', loss_weight=0.0),
                               disc_fm=None)
    ref, _ = _step(cfg, 0, losses=reconstruction_only)
    warm, log = _step(cfg, 4, gan_warmup=5)
    after, _ = _step(cfg, 5, gan_warmup=5)
    # the terms are still computed and logged during the warm-up
    assert {'loss_g_adv', 'loss_disc_fm'} <= set(log)
    for k, v in _generator_state(ref).items():
        torch.testing.assert_close(_generator_state(warm)[k], v, msg=k)
    assert any(not torch.allclose(_generator_state(after)[k], v)
               for k, v in _generator_state(ref).items())


def test_warmup_must_not_be_negative(cfg):
    with pytest.raises(ValueError, match='gan_warmup'):
        build(cfg, gan_warmup=-1)
    with pytest.raises(ValueError, match='gan_rampup'):
        build(cfg, gan_rampup=-2)


def test_rampup_factor_counts_from_the_end_of_the_warmup(cfg):
    model = build(cfg, gan_warmup=5, gan_rampup=4)
    hub = MessageHub.get_current_instance()
    factors = []
    for it in range(11):
        hub.update_info('iter', it)
        factors.append(model._adversarial_weight())
    assert factors == [0, 0, 0, 0, 0, 0.25, 0.5, 0.75, 1, 1, 1]
    hub.update_info('iter', 0)
    assert build(cfg, gan_rampup=2)._adversarial_weight() == 0.5  # no warm-up, ramp from 0
    assert build(cfg)._adversarial_weight() == 1  # the paper: full weight from the start


def test_rampup_scales_the_adversarial_gradient(cfg):
    """Half-way through the ramp the generator side's SGD step is the mean of the steps
    without the adversarial terms (inside the warm-up) and with them at full weight."""
    ramp = dict(gan_warmup=5, gan_rampup=4)
    ref = _generator_state(build(cfg, diagnostics_window=0, **ramp))
    off, _ = _sgd_step(cfg, 4, **ramp)   # factor 0
    half, _ = _sgd_step(cfg, 6, **ramp)  # factor 0.5
    full, _ = _sgd_step(cfg, 8, **ramp)  # factor 1
    off, half, full = (_generator_state(m) for m in (off, half, full))
    moved = 0
    for k, w0 in ref.items():
        if not w0.is_floating_point():
            continue
        d_off, d_half, d_full = off[k] - w0, half[k] - w0, full[k] - w0
        torch.testing.assert_close(d_half, (d_off + d_full) / 2, rtol=1e-3, atol=1e-6, msg=k)
        moved += int(not torch.allclose(d_off, d_full))
    assert moved > 0  # the adversarial terms do change the step


def _discriminator_state(model):
    return {k: v.clone() for k, v in model.state_dict().items()
            if k.startswith('discriminator.')}


def test_before_discriminator_start_d_is_neither_run_nor_trained(cfg):
    """Before ``discriminator_start`` D_A is left alone (no update, no forward in the
    generator's losses: not in the log) and the generator side takes the same step as
    inside a warm-up with D_A running; from it on D_A trains and its terms are logged."""
    ref = _discriminator_state(build(cfg))
    off, log_off = _step(cfg, 4, gan_warmup=5, discriminator_start=5)
    warm, log_warm = _step(cfg, 4, gan_warmup=5)
    on, log_on = _step(cfg, 5, gan_warmup=5, discriminator_start=5)
    d_terms = {'loss_d_adv', 'd_real', 'd_fake', 'loss_g_adv', 'loss_disc_fm'}
    assert not d_terms & set(log_off)
    assert d_terms <= set(log_warm) and d_terms <= set(log_on)
    assert {'loss_l1', 'loss_vgg', 'loss_identity'} <= set(log_off)
    for k, v in ref.items():  # D_A untouched, spectral-norm vectors included
        assert torch.equal(_discriminator_state(off)[k], v), k
    assert any(not torch.equal(_discriminator_state(on)[k], v) for k, v in ref.items()
               if v.is_floating_point())
    for k, v in _generator_state(warm).items():
        torch.testing.assert_close(_generator_state(off)[k], v, msg=k)
    assert float(log_off['skipped_updates']) == 0


def test_discriminator_start_must_not_follow_the_warmup(cfg):
    with pytest.raises(ValueError, match='discriminator_start=6 must be <= gan_warmup=5'):
        build(cfg, gan_warmup=5, discriminator_start=6)
    with pytest.raises(ValueError, match='discriminator_start'):
        build(cfg, discriminator_start=-1)
