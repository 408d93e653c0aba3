"""Encoder normalisation: GroupNorm keeps what tells two images apart at one sample per GPU."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn
import torchvision

from headswap.models.encoders import MobileNetV2Encoder, ResNeXtEncoder
from headswap.models.layers import build_norm_2d
from headswap.models.layers.norm import group_count

SAMPLE = 'data/sample'


@pytest.mark.parametrize('channels,groups', [(1280, 32), (24, 3), (144, 18), (16, 2), (4, 1),
                                             (2048, 32), (96, 12)])
def test_group_count_divides_and_keeps_eight_channels_a_group(channels, groups):
    assert group_count(channels) == groups
    assert channels % groups == 0


def test_build_norm_2d():
    assert isinstance(build_norm_2d(dict(type='BN'), 8), nn.BatchNorm2d)
    gn = build_norm_2d(dict(type='GN'), 64)
    assert isinstance(gn, nn.GroupNorm) and gn.num_groups == 8
    assert build_norm_2d(dict(type='GN', num_groups=4), 64).num_groups == 4
    with pytest.raises(ValueError, match='do not divide'):
        build_norm_2d(dict(type='GN', num_groups=3), 64)
    with pytest.raises(ValueError, match="'BN' or 'GN'"):
        MobileNetV2Encoder(norm_cfg=dict(type='LN'))


def _spread(embeddings: torch.Tensor) -> float:
    """Spread of the embeddings across images relative to their common part."""
    return float(embeddings.std(0).norm() / embeddings.mean(0).norm())


def _sample_frames(n: int = 8, size: int = 64) -> torch.Tensor:
    """``n`` frames of the bundled talking-head clip, ``(n, 3, size, size)`` in [-1, 1]."""
    with open(osp.join(SAMPLE, 'index.json')) as f:
        rows = [r for r in json.load(f)['data_list'] if 'carphone/pristine' in r['img_path']]
    imgs = [cv2.resize(cv2.imread(osp.join(SAMPLE, r['img_path']))[..., ::-1], (size, size),
                       interpolation=cv2.INTER_AREA) for r in rows[::5][:n]]
    return torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float() / 127.5 - 1


def test_group_norm_encoder_tells_single_images_apart():
    """One frame per forward (the paper's batch 1): BatchNorm's per-image statistics and the
    global pooling leave little of what differs between frames; GroupNorm keeps about three
    times as much, and computes the same function in training and evaluation."""
    frames = _sample_frames()
    spreads = {}
    for kind in ('BN', 'GN'):
        torch.manual_seed(0)
        # (no spectral norm here: its power iteration moves the weights at every call)
        enc = MobileNetV2Encoder(input_size=None, width_mult=0.25, spectral_norm=False,
                                 norm_cfg=dict(type=kind)).train()
        with torch.no_grad():
            one_by_one = torch.cat([enc(x[None]) for x in frames])
            spreads[kind] = _spread(one_by_one)
            if kind == 'GN':
                torch.testing.assert_close(enc.eval()(frames), one_by_one)
    assert spreads['GN'] > 2.5 * spreads['BN'], spreads


def test_group_norm_encoders_load_imagenet_batchnorm_weights(tmp_path):
    ref = torchvision.models.mobilenet_v2()
    with torch.no_grad():
        ref.features[0][1].weight.fill_(0.5)
    path = tmp_path / 'mobilenet_v2.pth'
    torch.save(ref.state_dict(), path)
    enc = MobileNetV2Encoder(out_channels=16, checkpoint=str(path), norm_cfg=dict(type='GN'))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in enc.modules())
    torch.testing.assert_close(enc.features[0][1].weight, ref.features[0][1].weight)
    # ResNeXt: the same for a tiny torchvision-layout network
    small = ResNeXtEncoder(out_channels=8, depths=(1, 1, 1, 1), stem_channels=16,
                           base_channels=8, groups=2, width_per_group=8, input_size=None,
                           spectral_norm=False)
    state = {k: v for k, v in small.state_dict().items() if not k.startswith('head.')}
    torch.save(state, tmp_path / 'resnext.pth')
    gn = ResNeXtEncoder(out_channels=8, depths=(1, 1, 1, 1), stem_channels=16, base_channels=8,
                        groups=2, width_per_group=8, input_size=None,
                        checkpoint=str(tmp_path / 'resnext.pth'), norm_cfg=dict(type='GN'))
    assert isinstance(gn.bn1, nn.GroupNorm) and not any(
        isinstance(m, nn.BatchNorm2d) for m in gn.modules())
