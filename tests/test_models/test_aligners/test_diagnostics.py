"""Driver-sensitivity diagnostics: the numbers that tell a collapsed stage 1 from a learning one."""
import pytest
import torch

from headswap.models.aligners.diagnostics import (DriverSensitivityWindow, driver_sensitivity,
                                                  own_target_nearest)
from tests.test_models.test_aligners.test_head2head_aligner import batch, build, optim_for


def test_sensitivity_is_zero_for_one_face_and_one_for_the_targets():
    targets = torch.rand(6, 3, 16, 16) * 2 - 1
    mean_face = targets.mean(0, keepdim=True).expand_as(targets)
    assert driver_sensitivity(mean_face, targets) == pytest.approx(0.0, abs=1e-6)
    assert driver_sensitivity(targets, targets) == pytest.approx(1.0)
    # a blend of the mean and the targets sits in between, in proportion
    half = 0.5 * mean_face + 0.5 * targets
    assert driver_sensitivity(half, targets) == pytest.approx(0.5, rel=1e-4)


def test_nearest_tells_following_from_varying():
    targets = torch.rand(8, 3, 16, 16) * 2 - 1
    assert own_target_nearest(targets, targets) == 1.0
    # a little noise on each target: still its own
    assert own_target_nearest(targets + 0.05 * torch.randn_like(targets), targets) == 1.0
    mean_face = targets.mean(0, keepdim=True).expand_as(targets)
    assert own_target_nearest(mean_face, targets) <= 1 / 8
    # outputs that vary as much as the targets but not with them (the case the spread
    # alone calls "following"): the targets in another order
    shuffled = targets.roll(1, 0)
    assert driver_sensitivity(shuffled, targets) == pytest.approx(1.0)
    assert own_target_nearest(shuffled, targets) == 0.0
    with pytest.raises(ValueError, match='two or more'):
        own_target_nearest(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4))


def test_sensitivity_needs_two_samples_of_one_shape():
    with pytest.raises(ValueError, match='two or more'):
        driver_sensitivity(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match='two or more'):
        driver_sensitivity(torch.zeros(2, 3, 4, 4), torch.zeros(2, 3, 8, 8))


def test_window_spans_batches_and_forgets_old_samples():
    window = DriverSensitivityWindow(size=4, thumbnail=4)
    assert window.stats() == {}
    targets = torch.rand(4, 3, 8, 8)
    window.add(targets[:1], targets[:1], torch.ones(1, 5))
    assert window.stats() == {}  # batch 1: nothing to compare yet
    for i in range(1, 4):  # one sample per "iteration" (batch 1, the paper's setting)
        window.add(targets[i:i + 1], targets[i:i + 1], torch.full((1, 5), float(i + 1)))
    stats = window.stats()
    assert stats['driver_sensitivity'] == pytest.approx(1.0)
    assert stats['driver_nearest'] == 1.0
    assert stats['adain_std'] == pytest.approx(torch.arange(1., 5.).std().item())
    # four constant outputs push the followed ones out of the window
    for _ in range(4):
        window.add(torch.zeros(1, 3, 8, 8), torch.rand(1, 3, 8, 8))
    assert window.stats()['driver_sensitivity'] == pytest.approx(0.0, abs=1e-6)
    assert window.stats()['driver_nearest'] <= 0.25


def test_train_step_logs_the_diagnostics(cfg):
    model = build(cfg, diagnostics_window=8).train()
    optim = optim_for(cfg, model)
    logs = [model.train_step(batch(k=2, b=2, seed=s), optim) for s in range(2)]
    parts = ('portrait_encoder', 'pose_encoder', 'expression_encoder', 'mlp', 'generator')
    for log in logs:
        assert {'driver_sensitivity', 'driver_nearest', 'adain_std', 'adain_rms'} <= set(log)
        assert {f'grad_norm_{p}' for p in parts} <= set(log)
        assert all(torch.isfinite(v).all() for v in log.values())
        assert all(log[f'grad_norm_{p}'] > 0 for p in parts)
    quiet = build(cfg, diagnostics_window=0).train()
    assert 'driver_sensitivity' not in quiet.train_step(batch(k=2, b=2), optim_for(cfg, quiet))
