import pytest
import torch

from headswap.models.layers import RunningStandardization


def test_batch_one_stream_is_standardised():
    torch.manual_seed(0)
    data = torch.randn(3000, 3) * torch.tensor([0.01, 1.0, 5.0]) + torch.tensor([10., -2., 0.])
    norm = RunningStandardization(3, momentum=0.01).train()
    for x in data.split(1):  # one sample per step, the stage-1 setting
        norm(x)
    norm.eval()
    y = norm(data)
    torch.testing.assert_close(y.mean(0), torch.zeros(3), atol=0.15, rtol=0)
    torch.testing.assert_close(y.std(0), torch.ones(3), atol=0.15, rtol=0)
    # the tiny first feature, 0.1 % of its mean, is what comes out
    assert y[:, 0].std() > 0.8


def test_eval_does_not_update_and_gradient_is_a_fixed_scale():
    norm = RunningStandardization(2).train()
    norm(torch.tensor([[1.0, 2.0], [3.0, 6.0]]))
    norm.eval()
    state = {k: v.clone() for k, v in norm.state_dict().items()}
    x = torch.tensor([[2.0, 4.0]], requires_grad=True)
    norm(x).sum().backward()
    assert all(torch.equal(state[k], v) for k, v in norm.state_dict().items())
    torch.testing.assert_close(x.grad[0], torch.rsqrt(norm.running_var + norm.eps))


def test_first_sample_keeps_unit_variance_and_errors():
    norm = RunningStandardization(2).train()
    norm(torch.tensor([[5.0, -1.0]]))
    torch.testing.assert_close(norm.running_mean, torch.tensor([5.0, -1.0]))
    torch.testing.assert_close(norm.running_var, torch.ones(2))
    with pytest.raises(ValueError, match='expects 2 features'):
        norm(torch.zeros(1, 3))
    with pytest.raises(ValueError, match='momentum'):
        RunningStandardization(2, momentum=0)
