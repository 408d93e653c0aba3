"""gan_warmup: the generator side learns from the reconstruction terms alone at first."""
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
