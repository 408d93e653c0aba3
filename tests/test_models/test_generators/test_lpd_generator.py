import pytest
import torch

from headswap.models.generators import AdaINMLP, LPDGenerator
from headswap.models.generators.lpd_generator import AdaptiveInstanceNorm


def test_shapes_ranges_and_param_count():
    gen = LPDGenerator(channels=(16, 16, 8, 8), const_size=4, num_res_blocks=1, out_resolution=32)
    # res block 16->16: 2*(16+16); ups 16->16, 16->8, 8->8; final AdaIN(8)
    assert gen.num_adain_params == 2 * 32 + 2 * 32 + 2 * 24 + 2 * 16 + 2 * 8
    rgb, mask = gen(torch.randn(3, gen.num_adain_params))
    assert rgb.shape == (3, 3, 32, 32) and mask.shape == (3, 1, 32, 32)
    assert rgb.abs().max() <= 1 and 0 <= mask.min() and mask.max() <= 1


def test_paper_generator_reaches_512():
    gen = LPDGenerator()
    assert gen.out_resolution == 512
    ups = [b for b in gen.blocks if b.upsample]
    assert len(ups) == 7 and ups[-1].conv2.out_channels == 32


def test_resolution_mismatch_is_explained():
    with pytest.raises(ValueError, match='give 64-pixel images, but out_resolution is 32'):
        LPDGenerator(channels=(8, 8, 8, 8, 8), out_resolution=32)


def test_wrong_parameter_vector():
    gen = LPDGenerator(channels=(8, 8), out_resolution=8)
    with pytest.raises(ValueError, match='AdaIN parameters'):
        gen(torch.randn(1, gen.num_adain_params + 1))


def test_adain_normalises_then_modulates():
    norm = AdaptiveInstanceNorm(4)
    x = torch.randn(2, 4, 8, 8) * 3 + 5
    out = norm(x, torch.zeros(2, 8))
    torch.testing.assert_close(out.mean((2, 3)), torch.zeros(2, 4), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.var((2, 3), unbiased=False), torch.ones(2, 4), atol=1e-3,
                               rtol=0)
    torch.testing.assert_close(out, torch.nn.functional.instance_norm(x), atol=1e-5, rtol=1e-5)
    params = torch.cat([torch.full((2, 4), 1.0), torch.full((2, 4), 0.5)], 1)  # gamma, beta
    torch.testing.assert_close(norm(x, params), out * 2 + 0.5)


def test_spectral_norm_everywhere():
    gen = LPDGenerator(channels=(8, 8), out_resolution=8)
    convs = [m for m in gen.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(hasattr(m, 'parametrizations') for m in convs)


def test_adain_mlp():
    mlp = AdaINMLP(in_channels=12, out_channels=40, hidden_channels=6)
    assert mlp(torch.randn(5, 12)).shape == (5, 40)
    assert hasattr(mlp.fc1, 'parametrizations') and hasattr(mlp.fc2, 'parametrizations')
    with pytest.raises(ValueError, match='12-d'):
        mlp(torch.randn(5, 10))
    with pytest.raises(ValueError, match='out_channels > 0'):
        AdaINMLP(in_channels=12)
