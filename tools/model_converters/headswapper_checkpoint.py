"""Combine a stage-1 and a stage-2 checkpoint into one HeadSwapper checkpoint.

    python tools/model_converters/headswapper_checkpoint.py CONFIG OUT \\
        [--aligner-checkpoint S1.pth] [--blender-checkpoint S2.pth]

CONFIG is an inference config (``configs/inference/*.py``) or any config whose ``model`` is a
HeadSwapper; the stage checkpoints default to the ones it names. Each is checked to be of its
stage, the stage-1 EMA weights replace the raw ones (``use_ema``), training-only parts
(discriminators, losses, VGG layers past the warping's) are dropped. OUT holds
``{'meta': ..., 'state_dict': {aligner.*, blender.*}}``, loadable with ``weights_only=True``,
for ``HeadSwapInferencer(weights=OUT)`` / ``demo/headswap_demo.py --weights OUT`` and as the
CHECKPOINT of ``tools/test.py`` with a full-swap test config.
"""
import argparse
import os
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Make one HeadSwapper checkpoint of both stages')
    p.add_argument('config', help='inference config (model = HeadSwapper)')
    p.add_argument('out', help='output .pth')
    p.add_argument('--aligner-checkpoint', help='stage-1 checkpoint (default: the config\'s)')
    p.add_argument('--blender-checkpoint', help='stage-2 checkpoint (default: the config\'s)')
    return p.parse_args(argv)


def convert(config: str, out: str, aligner_checkpoint=None, blender_checkpoint=None) -> str:
    import torch
    from mmengine.registry import DefaultScope

    from headswap.registry import MODELS
    from headswap.utils import register_all_modules
    from headswap.utils.cli import UserError
    from headswap.utils.config import load_config
    from headswap.version import __version__
    register_all_modules(init_default_scope=False)
    cfg = load_config(config)
    model_cfg = cfg.model.to_dict()
    if model_cfg.get('type') not in ('HeadSwapper', 'headswap.HeadSwapper'):
        raise UserError(f'{config}: its model is {model_cfg.get("type")!r}, not a HeadSwapper')
    for key, value in (('aligner_checkpoint', aligner_checkpoint),
                       ('blender_checkpoint', blender_checkpoint)):
        if value is not None:
            model_cfg[key] = value
        if model_cfg.get(key) is None:
            raise UserError(f'no {key}: give --{key.replace("_", "-")}')
    for key in ('aligner', 'blender'):
        path = model_cfg[key]
        if isinstance(path, str) and not osp.isfile(path) and osp.isfile(osp.join(ROOT, path)):
            model_cfg[key] = osp.join(ROOT, path)
    with DefaultScope.overwrite_default_scope('headswap'):
        model = MODELS.build(model_cfg)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    meta = dict(headswap_version=__version__, config=config,
                aligner_checkpoint=model_cfg['aligner_checkpoint'],
                blender_checkpoint=model_cfg['blender_checkpoint'],
                resolution=model.resolution)
    torch.save(dict(meta=meta, state_dict=model.state_dict()), out)
    return out


def main(argv=None):
    args = parse_args(argv)
    sys.path.insert(0, ROOT)
    from headswap.utils.cli import friendly_errors
    with friendly_errors('headswapper_checkpoint.py'):
        print(convert(args.config, args.out, args.aligner_checkpoint, args.blender_checkpoint))


if __name__ == '__main__':
    main()
