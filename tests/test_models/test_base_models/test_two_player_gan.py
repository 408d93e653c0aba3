"""TwoPlayerGAN._update with and without a gradient synchronisation (``grad_sync``)."""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper

from headswap.models.base_models import TwoPlayerGAN


class _Toy(TwoPlayerGAN):

    def __init__(self):
        super().__init__()
        self.discriminator = nn.Linear(3, 1)

    def forward(self, x):
        return self.discriminator(x)


def _toy_and_optim(accumulative_counts=1):
    torch.manual_seed(0)
    model = _Toy()
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=0.1),
                         accumulative_counts=accumulative_counts)
    return model, optim


def _loss(model, i):
    return model(torch.full((4, 3), float(i + 1))).square().mean()


@pytest.mark.parametrize('accumulative_counts', [1, 2])
def test_without_sync_it_is_update_params(accumulative_counts):
    """No grad_sync (one process): the same steps as mmengine's ``update_params``."""
    model, optim = _toy_and_optim(accumulative_counts)
    ref = copy.deepcopy(model)
    ref_optim = OptimWrapper(torch.optim.Adam(ref.parameters(), lr=0.1),
                             accumulative_counts=accumulative_counts)
    assert model.grad_sync is None
    for i in range(4):
        assert model._update(optim, _loss(model, i), skip_non_finite=False)
        ref_optim.update_params(_loss(ref, i))
        for p, q in zip(model.parameters(), ref.parameters()):
            assert torch.equal(p, q)
            assert (p.grad is None) == (q.grad is None)
            assert p.grad is None or torch.equal(p.grad, q.grad)


def test_sync_runs_after_backward_before_inspect_and_the_finite_check():
    model, optim = _toy_and_optim(accumulative_counts=2)
    calls = []

    def sync(params):
        calls.append([p.grad.clone() for p in params])
        assert [id(p) for p in params] == [id(p) for p in model.parameters()]
        for p in params:
            p.grad.fill_(float('nan'))  # what every rank would see after the reduce

    model.grad_sync = sync
    seen = []
    inspect = lambda: seen.append(model.discriminator.weight.grad.clone())  # noqa: E731
    before = copy.deepcopy(model.state_dict())
    # first of two accumulated backwards: no sync yet, nothing stepped
    assert model._update(optim, _loss(model, 0), inspect)
    assert calls == [] and torch.isfinite(seen[0]).all()
    # second: synced before inspect, and the (now non-finite) step is skipped
    assert not model._update(optim, _loss(model, 1), inspect)
    assert len(calls) == 1 and torch.isfinite(calls[0][0]).all()
    assert torch.isnan(seen[1]).all()
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    assert all(p.grad is None for p in model.parameters())
