import pytest
import torch

from headswap.models.unets import BlendingUNet


def test_seven_levels_shapes_range_and_spectral_norm():
    net = BlendingUNet(in_channels=14, out_channels=3, base_channels=4, max_channels=16,
                       num_levels=7)
    x = torch.randn(2, 14, 128, 128)
    y = net(x)
    assert y.shape == (2, 3, 128, 128)
    assert y.abs().max() <= 1
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(hasattr(m, 'weight_orig') for m in convs)  # spectral norm everywhere
    widths = [b[0].conv1.conv.out_channels for b in net.enc_blocks]
    assert widths == [4, 8, 16, 16, 16, 16, 16]
    y.mean().backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


def test_every_input_channel_reaches_the_output():
    torch.manual_seed(0)
    net = BlendingUNet(in_channels=5, base_channels=4, max_channels=8, num_levels=3,
                       norm_cfg=None)
    x = torch.randn(1, 5, 16, 16, requires_grad=True)
    net(x)[0, :, 8, 8].sum().backward()
    assert (x.grad.abs().flatten(2).sum(-1) > 0).all()


def test_size_must_be_divisible():
    net = BlendingUNet(in_channels=3, base_channels=4, max_channels=8, num_levels=4)
    with pytest.raises(ValueError, match='divisible by 8'):
        net(torch.randn(1, 3, 20, 20))
