import pytest
import torch
import torchvision

from headswap.models.frozen import VGG19Features


def test_torchvision_vgg19_state_dict_loads(tmp_path):
    ref = torchvision.models.vgg19()
    path = tmp_path / 'vgg19.pth'
    torch.save(ref.state_dict(), path)  # includes the classifier, which is ignored
    vgg = VGG19Features(layers=('relu1_1', 'relu3_1', 'relu5_1'), checkpoint=str(path))
    ref_feats = ref.features.eval()
    for i, layer in enumerate(vgg.features):
        if isinstance(layer, torch.nn.Conv2d):
            torch.testing.assert_close(layer.weight, ref_feats[i].weight)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    feats = vgg(x)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    h = ((x + 1) / 2 - mean) / std
    expected = []
    for i, layer in enumerate(ref_feats[:30]):
        h = layer(h)
        if i in (1, 11, 29):
            expected.append(h)
    for a, b in zip(feats, expected):
        torch.testing.assert_close(a, b)


def test_frozen_with_random_weights():
    vgg = VGG19Features(layers=('relu1_1',), base_channels=4)
    assert not any(p.requires_grad for p in vgg.parameters())
    vgg.train()
    assert not vgg.training


def test_unknown_layer():
    with pytest.raises(ValueError, match='unknown VGG-19 layers'):
        VGG19Features(layers=('relu9_9',), base_channels=4)
