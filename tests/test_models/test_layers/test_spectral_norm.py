import torch
from torch.nn.utils import spectral_norm

from headswap.models.layers import warm_up_spectral_norm


def test_warm_up_makes_eval_mode_use_the_true_norm():
    torch.manual_seed(0)
    net = torch.nn.Sequential(spectral_norm(torch.nn.Linear(16, 32)), torch.nn.ReLU(),
                              spectral_norm(torch.nn.Conv2d(4, 8, 3)))
    linear = net[0]
    true_sigma = float(torch.linalg.matrix_norm(linear.weight_orig.detach(), ord=2))

    def eval_sigma() -> float:
        net.eval()
        net[0](torch.zeros(1, 16))  # eval mode: no power iteration, stored vectors
        return float((linear.weight_orig / linear.weight).detach().flatten()[0])

    before = abs(eval_sigma() - true_sigma) / true_sigma
    assert warm_up_spectral_norm(net, iterations=50) == 2
    after = abs(eval_sigma() - true_sigma) / true_sigma
    assert after < 1e-3 < before
