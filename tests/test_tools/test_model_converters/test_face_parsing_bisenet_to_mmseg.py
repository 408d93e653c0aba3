"""The converter maps a checkpoint with the public face-parsing BiSeNet key layout onto the
mmseg face parser, reproducing the public network's outputs, with the label remap."""
import os.path as osp

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from ..tool_loader import ROOT, load_tool

TOOL = 'tools/model_converters/face_parsing_bisenet_to_mmseg.py'

CONFIG = osp.join(ROOT, 'configs/face_parsing/bisenet_r18_4xb4-80k_celebamask-hq-512x512.py')


# --- an independent re-implementation of the public network, with its module names ---
class ConvBNReLU(nn.Module):
    def __init__(self, cin, cout, ks=3, padding=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, ks, 1, padding, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class ARM(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = ConvBNReLU(cin, cout)
        self.conv_atten = nn.Conv2d(cout, cout, 1, bias=False)
        self.bn_atten = nn.BatchNorm2d(cout)

    def forward(self, x):
        f = self.conv(x)
        return f * torch.sigmoid(self.bn_atten(self.conv_atten(F.adaptive_avg_pool2d(f, 1))))


class Resnet18(nn.Module):
    def __init__(self):
        super().__init__()
        tv = torchvision.models.resnet18()
        self.conv1, self.bn1, self.maxpool = tv.conv1, tv.bn1, tv.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = tv.layer1, tv.layer2, tv.layer3, \
            tv.layer4

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        f8 = self.layer2(self.layer1(x))
        f16 = self.layer3(f8)
        return f8, f16, self.layer4(f16)


class ContextPath(nn.Module):
    def __init__(self):
        super().__init__()
        self.resnet = Resnet18()
        self.arm16, self.arm32 = ARM(256, 128), ARM(512, 128)
        self.conv_head32, self.conv_head16 = ConvBNReLU(128, 128), ConvBNReLU(128, 128)
        self.conv_avg = ConvBNReLU(512, 128, 1, 0)

    def forward(self, x):
        f8, f16, f32 = self.resnet(x)
        avg = F.interpolate(self.conv_avg(F.adaptive_avg_pool2d(f32, 1)), f32.shape[2:],
                            mode='nearest')
        up32 = self.conv_head32(F.interpolate(self.arm32(f32) + avg, f16.shape[2:],
                                              mode='nearest'))
        up16 = self.conv_head16(F.interpolate(self.arm16(f16) + up32, f8.shape[2:],
                                              mode='nearest'))
        return f8, up16, up32


class FFM(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.convblk = ConvBNReLU(cin, cout, 1, 0)
        self.conv1 = nn.Conv2d(cout, cout // 4, 1, bias=False)
        self.conv2 = nn.Conv2d(cout // 4, cout, 1, bias=False)

    def forward(self, a, b):
        f = self.convblk(torch.cat([a, b], 1))
        return f + f * torch.sigmoid(self.conv2(F.relu(self.conv1(F.adaptive_avg_pool2d(f, 1)))))


class Output(nn.Module):
    def __init__(self, cin, cmid, n):
        super().__init__()
        self.conv = ConvBNReLU(cin, cmid)
        self.conv_out = nn.Conv2d(cmid, n, 1, bias=False)

    def forward(self, x):
        return self.conv_out(self.conv(x))


class PublicBiSeNet(nn.Module):
    def __init__(self, n=19):
        super().__init__()
        self.cp = ContextPath()
        self.ffm = FFM(256, 256)
        self.conv_out, self.conv_out16, self.conv_out32 = Output(256, 256, n), \
            Output(128, 64, n), Output(128, 64, n)

    def forward(self, x):
        f8, c8, c16 = self.cp(x)
        outs = [self.conv_out(self.ffm(f8, c8)), self.conv_out16(c8), self.conv_out32(c16)]
        return [F.interpolate(o, x.shape[2:], mode='bilinear', align_corners=True) for o in outs]


def _public_model():
    torch.manual_seed(0)
    ref = PublicBiSeNet()
    for m in ref.modules():  # non-trivial BN statistics, so they must be mapped right
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return ref.eval()


def _mmseg_model():
    from mmengine.model.utils import revert_sync_batchnorm
    from mmengine.registry import DefaultScope

    import headswap.models.parsers  # noqa: F401
    from headswap.models.frozen.mmseg_face_parser import _drop_init_cfgs
    from headswap.models.frozen.openmmlab_scope import load_openmmlab_config
    cfg = load_openmmlab_config(CONFIG, 'mmseg')
    _drop_init_cfgs(cfg.model)
    with DefaultScope.overwrite_default_scope('mmseg'):
        from mmseg.registry import MODELS
        return revert_sync_batchnorm(MODELS.build(cfg.model)).eval()


@pytest.fixture(scope='module')
def models():
    return _public_model(), _mmseg_model()


@pytest.mark.parametrize('order', ['face-parsing.pytorch', 'celebamask-hq'])
def test_converted_model_matches_public_network(models, order, tmp_path):
    tool = load_tool(TOOL)
    ref, model = models
    public_state = {'module.' + k if order == 'celebamask-hq' else k: v
                    for k, v in ref.state_dict().items()}  # DataParallel prefix is stripped
    src = tmp_path / '79999_iter.pth'
    dst = tmp_path / 'converted.pth'
    torch.save(public_state, src)
    tool.main([str(src), str(dst), '--label-order', order])

    from headswap.utils.checkpoint import load_weights
    state = load_weights(str(dst))
    missing, unexpected = model.load_state_dict(state, strict=True)
    assert not missing and not unexpected

    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        ref_main, ref16, ref32 = ref(x)
        meta = [dict(img_shape=(64, 64), ori_shape=(64, 64), pad_shape=(64, 64))]
        ours = model.encode_decode(x, meta)
        feats = model.extract_feat(x)
        ours16 = F.interpolate(model.auxiliary_head[0].forward(feats), (64, 64), mode='bilinear',
                               align_corners=True)
    perm = tool.label_permutation(tool.LABEL_ORDERS[order])
    torch.testing.assert_close(ours, ref_main[:, perm], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(ours16, ref16[:, perm], atol=1e-4, rtol=1e-4)


def test_label_permutation_moves_named_classes():
    tool = load_tool(TOOL)
    from headswap.structures.face_labels import PARSING_CLASSES
    assert tool.label_permutation(PARSING_CLASSES).tolist() == list(range(19))
    perm = tool.label_permutation(tool.LABEL_ORDERS['celebamask-hq'])
    order = tool.LABEL_ORDERS['celebamask-hq']
    # headswap's nose (10) comes from the release's channel 2, hair (17) from 13
    assert order[perm[10]] == 'nose' and perm[10] == 2
    assert order[perm[17]] == 'hair' and perm[17] == 13
    assert sorted(perm.tolist()) == list(range(19))
    with pytest.raises(ValueError, match='19 classes'):
        tool.label_permutation(PARSING_CLASSES[:-1] + ('beard', ))


def test_unexpected_key_is_refused(tmp_path):
    tool = load_tool(TOOL)
    src = tmp_path / 'other.pth'
    torch.save({'backbone.conv1.weight': torch.zeros(1)}, src)
    with pytest.raises(SystemExit, match='unexpected key backbone.conv1.weight'):
        tool.main([str(src), str(tmp_path / 'out.pth')])
