import copy
import glob
import inspect
import os.path as osp

import pytest
import yaml
from mmengine.registry import init_default_scope

from headswap.models.aligners import Head2HeadAligner
from headswap.registry import MODEL_WRAPPERS, MODELS
from headswap.utils.config import load_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'head2head', '*.py'))) + [
    osp.join(ROOT, 'configs', 'head2head_aligner.py')]
PAPER = osp.join(ROOT, 'configs', 'head2head_aligner.py')
FT = osp.join(ROOT, 'configs', 'head2head',
              'head2head_aligner_lpd-arcface-r100_1xb1-ft600_subject-512.py')
ONE_GPU = osp.join(ROOT, 'configs', 'head2head',
                   'head2head_aligner_lpd-gn-arcface-r100_1xb1-200k_talking-heads-512.py')
LMK = osp.join(ROOT, 'configs', 'head2head',
               'head2head_aligner_lpd-gn-lmk-arcface-r100_1xb4-200k_talking-heads-512.py')
SAMPLE = osp.join(ROOT, 'configs', 'head2head',
                  'head2head_aligner_lpd-gn-lmk-arcface-r100_1xb4-2500_sample-512.py')


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_loads(path):
    cfg = load_config(path)
    assert cfg.default_scope == 'headswap' and cfg.model.type == 'Head2HeadAligner'
    assert cfg.optim_wrapper.generator.modules == list(Head2HeadAligner.generator_modules)
    assert {h['type'] for h in cfg.custom_hooks} >= {'RNGStateHook', 'NonFiniteLossHook'}
    if cfg.model.get('cuda_graphs'):
        # CUDA graphs cannot record DDP's hooks: tools/dist_train.sh must not wrap parts in DDP
        wrapper = dict(cfg.model_wrapper_cfg)
        assert wrapper.pop('type') == 'headswap.GradientSyncDataParallel'
        inspect.signature(MODEL_WRAPPERS.get('headswap.GradientSyncDataParallel')).bind(
            module=None, **wrapper)  # the keys merged from default_runtime are accepted


def test_paper_setting_builds_with_reference_encoder_sizes():
    cfg = load_config(PAPER)
    assert cfg.train_dataloader.batch_size == 1 and cfg.model.generator.out_resolution == 512
    g, d = cfg.optim_wrapper.generator.optimizer, cfg.optim_wrapper.discriminator.optimizer
    assert (g.type, g.lr, tuple(g.betas)) == ('Adam', 1e-4, (0.9, 0.999))
    assert (d.type, d.lr, tuple(d.betas)) == ('Adam', 4e-4, (0.9, 0.999))
    assert cfg.train_dataloader.dataset.type == 'Head2HeadDataset'
    cfg.model.identity_encoder.checkpoint = None
    cfg.model.vgg.checkpoint = None
    init_default_scope('headswap')
    model = MODELS.build(cfg.model)
    assert model.portrait_encoder.backbone_parameters() == 22_979_904  # resnext50_32x4d
    assert model.pose_encoder.backbone_parameters() == 2_223_872  # mobilenet_v2 features
    assert model.expression_encoder.backbone_parameters() == 2_223_872
    assert sum(p.numel() for p in model.identity_encoder.parameters()) == 65_156_160  # r100
    assert model.mlp.in_channels == 512 + 512 + 256 + 256
    assert model.mlp.fc1.out_features == 768
    assert model.mlp.out_channels == model.generator.num_adain_params
    assert model.data_preprocessor.resolution == 512


def test_one_gpu_config_is_the_paper_model_with_group_norm_encoders():
    import torch.nn as nn
    cfg = load_config(ONE_GPU)
    assert cfg.train_dataloader.batch_size == 1 and cfg.sync_bn is None
    assert cfg.model.cuda_graphs and cfg.model.ema.gamma == 20
    assert 'DriverSensitivityHook' in {h['type'] for h in cfg.custom_hooks}
    paper = load_config(PAPER)
    assert cfg.model.generator == paper.model.generator
    # the paper's MLP with its input standardised; the adversarial terms wait 2000 iterations,
    # then come in over 1000
    assert cfg.model.mlp == dict(paper.model.mlp, input_norm=True)
    assert cfg.model.gan_warmup == 2000 and paper.model.get('gan_warmup', 0) == 0
    assert cfg.model.gan_rampup == 1000 and paper.model.get('gan_rampup', 0) == 0
    # the driver keeps its colour jitter but is not moved alone (the paper config's is)
    aug, paper_aug = cfg.model.driver_augmentation, paper.model.driver_augmentation
    assert (aug.rotation, tuple(aug.scale), aug.translation) == (0.0, (1.0, 1.0), 0.0)
    assert aug.brightness == paper_aug.brightness and paper_aug.rotation == 10.0
    # the paper's optimizers, as fused kernels (they skip a non-finite step on the device);
    # the logged values are read every logger interval, the NaN check with them
    optim = copy.deepcopy(cfg.optim_wrapper)
    for part in ('generator', 'discriminator'):
        assert optim[part].optimizer.pop('fused') is True
    assert optim == paper.optim_wrapper
    assert cfg.default_hooks.runtime_info.type == 'DeferredRuntimeInfoHook'
    assert {h['type']: h.get('interval') for h in cfg.custom_hooks}['NonFiniteLossHook'] == \
        cfg.default_hooks.logger.interval
    cfg.model.identity_encoder.checkpoint = None
    cfg.model.vgg.checkpoint = None
    init_default_scope('headswap')
    model = MODELS.build(cfg.model)
    for name in ('portrait_encoder', 'pose_encoder', 'expression_encoder'):
        part = getattr(model, name)
        assert not any(isinstance(m, nn.BatchNorm2d) for m in part.modules()), name
        assert any(isinstance(m, nn.GroupNorm) for m in part.modules()), name
    # same networks otherwise: GroupNorm has as many affine parameters as BatchNorm
    assert model.portrait_encoder.backbone_parameters() == 22_979_904
    assert model.pose_encoder.backbone_parameters() == 2_223_872


def test_landmark_config_is_the_one_gpu_config_plus_the_spatial_driver_path():
    cfg, base = load_config(LMK), load_config(ONE_GPU)
    assert cfg.model.landmark_map.type == 'LandmarkHeatmap'
    assert cfg.model.generator == dict(base.model.generator, cond_channels=8, cond_max_size=256)
    assert cfg.train_dataloader.batch_size == 4
    assert (cfg.model.landmark_map.size, cfg.model.landmark_map.sigma) == (256, 3.0)
    rest = {k: v for k, v in cfg.model.items() if k not in ('landmark_map', 'generator')}
    assert rest == {k: v for k, v in base.model.items() if k != 'generator'}


def test_ten_minute_sample_config_is_the_landmark_config_with_a_schedule():
    import torch
    from mmengine.registry import PARAM_SCHEDULERS
    cfg, base = load_config(SAMPLE), load_config(LMK)
    n = cfg.train_cfg.max_iters
    assert n == 2500 and cfg.model.gan_warmup >= n  # no adversarial terms within the run
    assert cfg.model.discriminator_start >= n  # D_A neither trained nor run: unused
    assert cfg.model.ema is None
    schedule = ('gan_warmup', 'gan_rampup', 'discriminator_start', 'ema')
    rest = {k: v for k, v in cfg.model.items() if k not in schedule}
    assert rest == {k: v for k, v in base.model.items() if k not in schedule}
    # the base's data, with the flip's probability 0 (a one-clip fit: no driver is mirrored)
    # and at the index its ablation option names (pipeline.1.prob=0.5 puts it back)
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert pipeline[1] == dict(type='FaceFlip', prob=0.0)
    flipped = copy.deepcopy(cfg.train_dataloader)
    flipped.dataset.pipeline[1].prob = 0.5
    assert flipped == base.train_dataloader
    # the learning rate: held for the first half, then down to 1% of it at the last step
    for name, group in cfg.optim_wrapper.items():
        if not isinstance(group, dict) or 'optimizer' not in group:
            continue
        base_lr = group.optimizer.lr
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
        schedulers = [PARAM_SCHEDULERS.build(dict(s, optimizer=opt))
                      for s in copy.deepcopy(cfg.param_scheduler)]
        lrs = []
        for _ in range(n):
            lrs.append(opt.param_groups[0]['lr'])
            opt.step()
            for sch in schedulers:
                sch.step()
        assert lrs[n // 2 - 1] == base_lr, name
        assert lrs[-1] == pytest.approx(0.01 * base_lr, rel=0.01), name
        assert all(a >= b for a, b in zip(lrs, lrs[1:])), name


def test_fine_tuning_config():
    cfg = load_config(FT)
    assert cfg.train_cfg.max_iters == 600
    assert cfg.model.ema is None and cfg.model.init_from_ema
    assert cfg.load_from and cfg.val_dataloader is None


def test_metafile_lists_existing_configs():
    with open(osp.join(ROOT, 'configs', 'head2head', 'metafile.yml')) as f:
        meta = yaml.safe_load(f)
    names = [m['Config'] for m in meta['Models']]
    assert names
    for name in names:
        assert osp.isfile(osp.join(ROOT, name)), name
