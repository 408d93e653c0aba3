"""Evaluation configs with tiny models and tiny metric networks, and checkpoints for them."""
import os.path as osp

import torch
from mmengine.config import Config

from tests.conftest import REPO

TINY_STAGE = {
    'head2head': ('configs/head2head/head2head_aligner_tiny_1xb2-1k_sample-32.py', 32),
    'head2scene': ('configs/head2scene/head2scene_vgg19-unet5_1xb2-20_tiny-64x64.py', 64),
}
TINY_ARCFACE = dict(type='ArcFaceIdentityEncoder', depths=(1, 1, 1, 1), base_channels=4,
                    embedding_dim=16, input_size=32, checkpoint=None)


def tiny_metric(metric: dict) -> dict:
    """The same metric with tiny, random networks."""
    metric = dict(metric)
    if 'identity_encoder' in metric:
        metric['identity_encoder'] = dict(TINY_ARCFACE)
    if metric['type'] == 'LPIPS':
        metric['backbone_checkpoint'] = None
    if metric['type'] == 'FID':
        metric['inception'] = dict(type='FIDInceptionV3', checkpoint=None, input_size=75)
    return metric


def tiny_eval_config(eval_config: str, stage: str, out_path: str, **dataset) -> str:
    """Write ``eval_config`` with the tiny ``stage`` model at its resolution to ``out_path``.

    ``stage='headswap'``: the HeadSwapper of the config composes the tiny stages, with
    untrained tiny stage checkpoints written beside ``out_path``.
    """
    cfg = Config.fromfile(osp.join(REPO, eval_config))
    if stage == 'headswap':
        size = TINY_STAGE['head2scene'][1]
        ckpts = {}
        for name in ('head2head', 'head2scene'):
            stage_cfg = osp.join(REPO, TINY_STAGE[name][0])
            ckpts[name] = tiny_checkpoint(stage_cfg, f'{osp.splitext(out_path)[0]}_{name}.pth')
        cfg.model.update(aligner=osp.join(REPO, TINY_STAGE['head2head'][0]),
                         blender=osp.join(REPO, TINY_STAGE['head2scene'][0]),
                         aligner_checkpoint=ckpts['head2head'],
                         blender_checkpoint=ckpts['head2scene'], resolution=size)
    else:
        stage_cfg, size = TINY_STAGE[stage]
        cfg.model = Config.fromfile(osp.join(REPO, stage_cfg)).model
    loader = cfg.test_dataloader
    loader.num_workers = 0
    loader.dataset.data_root = osp.join(REPO, 'data/sample')
    loader.dataset.pipeline.insert(1, dict(type='ResizeFrames', size=size))
    loader.dataset.update(dataset)
    cfg.test_evaluator = [tiny_metric(m) for m in cfg.test_evaluator]
    cfg.default_hooks.visualization.tile = 64
    cfg.env_cfg.dist_cfg = dict(backend='gloo')
    cfg.dump(out_path)
    return out_path


def tiny_checkpoint(config_path: str, out_path: str, seed: int = 0) -> str:
    """A checkpoint of the config's (untrained) model, as a Runner would save it."""
    from headswap.registry import MODELS
    from headswap.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(config_path)
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    torch.save(dict(state_dict=model.state_dict(), meta=dict(cfg=cfg.pretty_text)), out_path)
    return out_path
