"""Mixed precision by config (``amp = True``: on GPUs) and by ``--amp`` (anywhere)."""
import torch
from mmengine.config import Config

from headswap.utils.config import apply_precision

ONE_GPU = 'configs/head2head/head2head_aligner_lpd-gn-arcface-r100_1xb1-200k_talking-heads-512.py'


def _wrapper_types(cfg):
    return {k: v.get('type', 'OptimWrapper') for k, v in cfg.optim_wrapper.items()
            if isinstance(v, dict) and 'optimizer' in v}


def test_config_amp_only_on_a_gpu(monkeypatch):
    cfg = Config.fromfile(ONE_GPU)
    assert cfg.amp is True
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert apply_precision(cfg) is False  # a CPU: fp32, bf16 would only be slower
    assert set(_wrapper_types(cfg).values()) == {'OptimWrapper'}
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: True)
    assert apply_precision(cfg) is True
    assert set(_wrapper_types(cfg).values()) == {'AutocastOptimWrapper'}
    assert all(cfg.optim_wrapper[k].dtype == 'bfloat16' for k in _wrapper_types(cfg))


def test_amp_false_keeps_fp32_and_flag_forces_it(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: False)
    cfg = Config.fromfile(ONE_GPU)
    cfg.merge_from_dict({'amp': False})
    assert apply_precision(cfg) is False
    assert set(_wrapper_types(cfg).values()) == {'OptimWrapper'}
    # the paper config has no amp setting; --amp turns it on (fp16 + loss scaling without bf16)
    paper = Config.fromfile('configs/head2head_aligner.py')
    assert paper.amp is False
    assert apply_precision(paper, amp=True) is True
    assert set(_wrapper_types(paper).values()) == {'AmpOptimWrapper'}
