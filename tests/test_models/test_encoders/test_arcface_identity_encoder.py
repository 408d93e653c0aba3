from collections import OrderedDict

import numpy as np
import pytest
import torch

from headswap.datasets.preparation.alignment import template_points
from headswap.models.encoders import ArcFaceIdentityEncoder
from headswap.models.encoders.arcface_identity_encoder import ARCFACE_TEMPLATE_112, arcface_crop_box
from headswap.models.frozen import IResNet
from headswap.models.frozen.iresnet import IRESNET_DEPTHS

TINY = dict(depths=(1, 1, 1, 1), base_channels=4, embedding_dim=16, input_size=32)


def insightface_state_dict(layers, seed=0):
    """A state dict with the names and shapes of insightface's arcface_torch IResNet.

    Written from the public layout (recognition/arcface_torch/backbones/iresnet.py),
    independently of headswap's module, with random values.
    """
    g = torch.Generator().manual_seed(seed)
    sd = OrderedDict()

    def bn(prefix, c):
        sd[f'{prefix}.weight'] = torch.rand(c, generator=g) + 0.5
        sd[f'{prefix}.bias'] = torch.randn(c, generator=g) * 0.1
        sd[f'{prefix}.running_mean'] = torch.randn(c, generator=g) * 0.1
        sd[f'{prefix}.running_var'] = torch.rand(c, generator=g) + 0.5
        sd[f'{prefix}.num_batches_tracked'] = torch.tensor(1000)

    def conv(name, c_out, c_in, k):
        sd[name] = torch.randn(c_out, c_in, k, k, generator=g) * (2 / (c_in * k * k))**0.5

    conv('conv1.weight', 64, 3, 3)
    bn('bn1', 64)
    sd['prelu.weight'] = torch.full((64,), 0.25)
    inplanes = 64
    for i, n in enumerate(layers):
        planes = 64 * 2**i
        for j in range(n):
            p = f'layer{i + 1}.{j}'
            c_in = inplanes if j == 0 else planes
            bn(f'{p}.bn1', c_in)
            conv(f'{p}.conv1.weight', planes, c_in, 3)
            bn(f'{p}.bn2', planes)
            sd[f'{p}.prelu.weight'] = torch.full((planes,), 0.25)
            conv(f'{p}.conv2.weight', planes, planes, 3)
            bn(f'{p}.bn3', planes)
            if j == 0:
                conv(f'{p}.downsample.0.weight', planes, c_in, 1)
                bn(f'{p}.downsample.1', planes)
        inplanes = planes
    bn('bn2', 512)
    sd['fc.weight'] = torch.randn(512, 512 * 49, generator=g) * 0.001
    sd['fc.bias'] = torch.zeros(512)
    bn('features', 512)
    return sd


def iresnet_param_count(layers):
    """Parameters of the public IResNet, counted from its definition."""
    total = 3 * 64 * 9 + 2 * 64 + 64  # conv1, bn1, prelu
    inplanes = 64
    for i, n in enumerate(layers):
        planes = 64 * 2**i
        for j in range(n):
            c_in = inplanes if j == 0 else planes
            total += 2 * c_in + 9 * c_in * planes + 2 * planes + planes + 9 * planes * planes \
                + 2 * planes
            if j == 0:
                total += c_in * planes + 2 * planes
        inplanes = planes
    return total + 2 * 512 + (512 * 49 * 512 + 512) + 2 * 512


@pytest.mark.parametrize('depth,expected', [(50, 43_590_848), (100, 65_156_160)])
def test_iresnet_parameter_counts(depth, expected):
    assert iresnet_param_count(IRESNET_DEPTHS[depth]) == expected
    net = IResNet(depth=depth)
    assert sum(p.numel() for p in net.parameters()) == expected


def test_insightface_checkpoint_loads_key_for_key(tmp_path):
    sd = insightface_state_dict(IRESNET_DEPTHS[50])
    path = tmp_path / 'backbone.pth'
    torch.save(sd, path)
    enc = ArcFaceIdentityEncoder(depth=50, checkpoint=str(path))
    own = enc.backbone.state_dict()
    assert set(own) == set(sd)
    for k, v in sd.items():
        torch.testing.assert_close(own[k], v)
    assert not any(p.requires_grad for p in enc.parameters())
    emb = enc(torch.rand(2, 3, 128, 128) * 2 - 1)
    assert emb.shape == (2, 512)
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(2))


def test_checkpoint_needs_full_size():
    with pytest.raises(ValueError, match='input_size=112'):
        ArcFaceIdentityEncoder(checkpoint='x.pth', **TINY)


@pytest.mark.parametrize('crop_scale,y_offset', [(2.0, 0.0), (1.8, 0.05)])
def test_crop_box_maps_prepared_crops_onto_the_arcface_template(crop_scale, y_offset):
    """The window sends the alignment template of prepared crops onto ArcFace's 112 template."""
    pts = template_points(crop_scale, 512, y_offset) / 512
    x0, y0, x1, y1 = arcface_crop_box(crop_scale, center=(0.5, 0.5 + y_offset))
    mapped = (pts - [x0, y0]) / [x1 - x0, y1 - y0] * 112
    np.testing.assert_allclose(mapped, np.array(ARCFACE_TEMPLATE_112), atol=1e-9)


def test_crop_box_derivation():
    x0, y0, x1, y1 = arcface_crop_box(1.8)
    assert x1 - x0 == pytest.approx(1 / 1.8) and y1 - y0 == pytest.approx(1 / 1.8)
    assert (x0 + x1) / 2 == pytest.approx(0.5) and (y0 + y1) / 2 == pytest.approx(0.5)
    assert arcface_crop_box(1.0) == (0.0, 0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match='leaves the crop'):
        arcface_crop_box(1.8, center=(0.2, 0.5))


def test_crop_takes_the_centre_window():
    enc = ArcFaceIdentityEncoder(**TINY, crop_scale=2.0)
    img = -torch.ones(1, 3, 64, 64)
    img[..., 16:48, 16:48] = 1.0  # exactly the central half
    crop = enc.crop(img)
    assert crop.shape == (1, 3, 32, 32)
    torch.testing.assert_close(crop, torch.ones_like(crop))
    # a scale-1 crop of a 32-pixel image is the image itself
    same = ArcFaceIdentityEncoder(**TINY, crop_scale=1.0)
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(same.crop(x), x)


@pytest.mark.parametrize('k', [1, 4])
def test_kshot_mean_of_normalised_embeddings(k):
    enc = ArcFaceIdentityEncoder(**TINY)
    x = torch.rand(2, k, 3, 64, 64) * 2 - 1
    out = enc(x)
    assert out.shape == (2, 16)
    torch.testing.assert_close(out, enc(x.flatten(0, 1)).view(2, k, 16).mean(1))
    emb, feats = enc(x[:, 0], return_features=True)
    assert [f.shape[1] for f in feats] == [4, 8, 16, 32]
    assert [f.shape[-1] for f in feats] == [16, 8, 4, 2]


def test_frozen_but_differentiable_wrt_input():
    enc = ArcFaceIdentityEncoder(**TINY)
    enc.train()
    assert not enc.training and not enc.backbone.training
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    enc(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in enc.parameters())


def test_random_full_depth_iresnet100_stays_finite():
    """Random weights (no checkpoint) must give finite embeddings at full depth."""
    enc = ArcFaceIdentityEncoder(depth=100, checkpoint=None)
    x = torch.rand(1, 3, 256, 256) * 2 - 1
    emb = enc(x)
    assert torch.isfinite(emb).all()
