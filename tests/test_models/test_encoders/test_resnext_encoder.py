import pytest
import torch
import torchvision

from headswap.models.encoders import ResNeXtEncoder
from headswap.utils.checkpoint import CheckpointError

TINY = dict(out_channels=16, depths=(1, 1, 1, 1), stem_channels=8, base_channels=4, groups=2,
            width_per_group=32, input_size=None)


@pytest.mark.parametrize('k', [1, 4])
def test_kshot_shapes_and_mean(k):
    enc = ResNeXtEncoder(**TINY).eval()
    x = torch.rand(2, k, 3, 32, 32) * 2 - 1
    out = enc(x)
    assert out.shape == (2, 16)
    per_image = enc(x.flatten(0, 1)).view(2, k, 16)
    torch.testing.assert_close(out, per_image.mean(1))


def test_zero_shots_rejected():
    with pytest.raises(ValueError, match='K = 0'):
        ResNeXtEncoder(**TINY)(torch.zeros(1, 0, 3, 32, 32))


def test_spectral_norm_on_every_operator():
    enc = ResNeXtEncoder(**TINY, spectral_norm=True)
    ops = [m for m in enc.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert ops and all(hasattr(m, 'parametrizations') for m in ops)
    plain = ResNeXtEncoder(**TINY, spectral_norm=False)
    assert not any(hasattr(m, 'parametrizations') for m in plain.modules())


def test_resnext50_matches_torchvision(tmp_path):
    """Same parameters as torchvision's resnext50_32x4d, and its state dict loads key-for-key."""
    ref = torchvision.models.resnext50_32x4d()
    ref_backbone = sum(p.numel() for n, p in ref.named_parameters() if not n.startswith('fc.'))
    assert ref_backbone == 22_979_904
    path = tmp_path / 'resnext50_32x4d.pth'
    torch.save(ref.state_dict(), path)
    enc = ResNeXtEncoder(out_channels=512, checkpoint=str(path), spectral_norm=True)
    assert enc.backbone_parameters() == ref_backbone
    assert sum(p.numel() for p in enc.head.parameters()) == 2048 * 512 + 512
    # the loaded weights are torchvision's (spectral norm keeps them as `original`)
    torch.testing.assert_close(enc.layer3[2].conv2.parametrizations.weight.original,
                               ref.layer3[2].conv2.weight)
    torch.testing.assert_close(enc.bn1.running_var, ref.bn1.running_var)


def test_checkpoint_of_other_architecture_is_refused(tmp_path):
    path = tmp_path / 'r18.pth'
    torch.save(torchvision.models.resnet18().state_dict(), path)
    with pytest.raises(CheckpointError, match='does not fit'):
        ResNeXtEncoder(out_channels=512, checkpoint=str(path))
