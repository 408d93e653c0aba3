import pytest
import torch

from headswap.models.losses import CycleConsistencyLoss


def test_known_values_with_pooling_and_weights():
    loss = CycleConsistencyLoss(loss_weight=2.0)
    target = torch.zeros(1, 1, 4, 4)
    target[..., :2, :2] = 4.0  # pools to 4 at grid cell (0, 0), 0 elsewhere
    cycled = torch.ones(1, 1, 2, 2)
    # |1 - 4| and three |1 - 0|: mean 1.5, times 2
    assert loss(cycled, target).item() == pytest.approx(3.0)
    weight = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    assert loss(cycled, target, weight).item() == pytest.approx(6.0)
    assert loss(cycled, target, torch.zeros_like(weight)).item() == 0.0


def test_incompatible_grid():
    with pytest.raises(ValueError, match='not a multiple'):
        CycleConsistencyLoss()(torch.zeros(1, 3, 3, 3), torch.zeros(1, 3, 8, 8))
