import copy

import torch
import torch.nn as nn
from mmengine.model import ExponentialMovingAverage

from headswap.models.layers import ForeachExponentialMovingAverage


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Linear(2, 2))


def test_foreach_ema_matches_mmengine_ema():
    net = _net()
    ref = ExponentialMovingAverage(copy.deepcopy(net), momentum=0.1)
    ours = ForeachExponentialMovingAverage(copy.deepcopy(net), momentum=0.1)
    for step in range(4):
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p))
            net[1].running_mean.add_(1.0)
        ref.update_parameters(net)
        ours.update_parameters(net)
        for (k, a), (_, b) in zip(ref.state_dict().items(), ours.state_dict().items()):
            assert torch.allclose(a, b), (step, k)
    assert int(ours.steps) == 4


def test_foreach_ema_resumes_its_step_counter():
    net = _net()
    ema = ForeachExponentialMovingAverage(copy.deepcopy(net), momentum=0.5)
    ema.update_parameters(net)
    ema.update_parameters(net)
    fresh = ForeachExponentialMovingAverage(copy.deepcopy(net), momentum=0.5)
    fresh.load_state_dict(ema.state_dict())
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(3.0)
    fresh.update_parameters(net)  # a lerp (step 2), not the first-step copy
    w_avg = fresh.module[0].weight
    assert not torch.allclose(w_avg, net[0].weight)
    assert int(fresh.steps) == 3


def test_foreach_ema_momentum_annealing_matches_mmengine():
    from mmengine.model import MomentumAnnealingEMA
    net = _net()
    ref = MomentumAnnealingEMA(copy.deepcopy(net), momentum=0.01, gamma=3)
    ours = ForeachExponentialMovingAverage(copy.deepcopy(net), momentum=0.01, gamma=3)
    for step in range(6):
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p))
        ref.update_parameters(net)
        ours.update_parameters(net)
        for (k, a), (_, b) in zip(ref.state_dict().items(), ours.state_dict().items()):
            torch.testing.assert_close(a, b, msg=f'{step} {k}')
    assert ours.momentum_at(0) == 1.0 and ours.momentum_at(10**6) == 0.01
