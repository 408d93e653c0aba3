import pytest
import torch
import torchvision

from headswap.models.encoders import MobileNetV2Encoder

TINY = dict(out_channels=8, width_mult=0.25, settings=((1, 8, 1, 1), (6, 8, 1, 2), (6, 16, 1, 2)),
            last_channels=32, input_size=None)


@pytest.mark.parametrize('k', [1, 4])
def test_shapes(k):
    enc = MobileNetV2Encoder(**TINY).eval()
    assert enc(torch.rand(3, 3, 32, 32)).shape == (3, 8)
    assert enc(torch.rand(2, k, 3, 32, 32)).shape == (2, 8)


def test_input_is_resized():
    enc = MobileNetV2Encoder(**{**TINY, 'input_size': 16}).eval()
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    small = torch.nn.functional.interpolate(x, size=16, mode='bilinear', antialias=True,
                                            align_corners=False)
    torch.testing.assert_close(enc(x), enc(small))


def test_mobilenet_v2_matches_torchvision(tmp_path):
    ref = torchvision.models.mobilenet_v2()
    ref_features = sum(p.numel() for n, p in ref.named_parameters()
                       if not n.startswith('classifier.'))
    assert ref_features == 2_223_872
    path = tmp_path / 'mobilenet_v2.pth'
    torch.save(ref.state_dict(), path)
    enc = MobileNetV2Encoder(out_channels=256, checkpoint=str(path))
    assert enc.backbone_parameters() == ref_features
    assert sum(p.numel() for p in enc.head.parameters()) == 1280 * 256 + 256
    torch.testing.assert_close(enc.features[5].conv[1][0].parametrizations.weight.original,
                               ref.features[5].conv[1][0].weight)
