import torch

from headswap.models.discriminators import PatchDiscriminator


def test_multiscale_logits_and_features():
    d = PatchDiscriminator(base_channels=4, max_channels=8, num_layers=2, num_scales=2)
    logits, feats = d(torch.randn(2, 3, 32, 32))
    assert [tuple(x.shape) for x in logits] == [(2, 1, 8, 8), (2, 1, 4, 4)]
    assert len(feats) == d.num_features == 2 * 3
    assert [f.shape[1] for f in feats] == [4, 8, 8, 4, 8, 8]
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(hasattr(m, 'parametrizations') for m in convs)


def test_spectral_norm_bounds_each_layer():
    torch.manual_seed(0)
    d = PatchDiscriminator(base_channels=4, max_channels=8, num_layers=2, num_scales=1)
    d.train()
    for _ in range(30):  # power iterations converge
        d(torch.randn(1, 3, 16, 16))
    for m in d.modules():
        if isinstance(m, torch.nn.Conv2d):
            sigma = torch.linalg.matrix_norm(m.weight.flatten(1), ord=2)
            assert sigma <= 1.05
