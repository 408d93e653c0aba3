import pytest
import torch
import torchvision

from headswap.evaluation.metrics import LPIPS
from .samples import evaluate, real_frames, sample_dict


def test_identical_zero_different_positive_regions():
    metric = LPIPS(backbone_checkpoint=None, device='cpu',
                   regions=dict(whole=None, head='head_mask'))
    frames = real_frames(32, num=4)
    head = torch.zeros((1, 32, 32))
    head[..., :, :16] = 1
    same = [sample_dict(pred_img=x, gt_img=x.clone(), head_mask=head) for x in frames]
    assert evaluate(metric, same) == {'LPIPS': 0.0, 'LPIPS_head': 0.0}
    other = [sample_dict(pred_img=frames[i], gt_img=frames[(i + 2) % 4], head_mask=head)
             for i in range(4)]
    out = evaluate(metric, other)
    assert out['LPIPS'] > 0 and out['LPIPS_head'] > 0


def test_backbone_loads_from_a_torchvision_file(tmp_path):
    torch.manual_seed(1)
    state = torchvision.models.alexnet().state_dict()
    path = tmp_path / 'alexnet.pth'
    torch.save(state, path)
    metric = LPIPS(backbone_checkpoint=str(path), device='cpu')
    loaded = dict(metric.network.net.named_parameters())
    assert torch.equal(loaded['slice2.3.weight'], state['features.3.weight'])
    assert torch.equal(loaded['slice5.10.bias'], state['features.10.bias'])


def test_wrong_backbone_file_is_refused(tmp_path):
    path = tmp_path / 'vgg.pth'
    torch.save(torchvision.models.vgg11().state_dict(), path)
    with pytest.raises(Exception, match='does not fit LPIPS alex backbone'):
        LPIPS(backbone_checkpoint=str(path), device='cpu')
