"""Tiny stage checkpoints for the quick start, the demo and the tests (CPU, minutes).

    python tools/misc/make_tiny_checkpoints.py [--iters 1000] [--out checkpoints/tiny]

Trains the tiny stage-1 config (32x32) and the tiny stage-2 config (64x64) on the bundled
sample ``data/sample`` for ``--iters`` iterations each and copies the final checkpoints to
``OUT/head2head_aligner_tiny.pth`` and ``OUT/head2scene_blender_tiny.pth``, the files
``configs/inference/headswap_offline_tiny-64.py`` names. ``--iters 0`` saves freshly
initialised models instead (tests; the swaps are noise).

Tiny models trained for a few minutes on 49 frames draw a blurry face of the source person
and blend it into the target: they show the pipeline end to end, not HeSer's quality. Real
swaps need both stages trained on real data at 512x512 (configs/head2head_aligner.py,
configs/head2scene_blender.py).
"""
import argparse
import os
import os.path as osp
import shutil
import sys
import time
from typing import Dict

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STAGES = {
    'head2head_aligner_tiny.pth': 'configs/head2head/head2head_aligner_tiny_1xb2-1k_sample-32.py',
    'head2scene_blender_tiny.pth':
        'configs/head2scene/head2scene_vgg19-unet5_1xb2-20_tiny-64x64.py',
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Make tiny stage checkpoints on data/sample')
    parser.add_argument('--iters', type=int, default=1000,
                        help='training iterations per stage (0: untrained, for tests)')
    parser.add_argument('--out', default='checkpoints/tiny', help='output folder')
    parser.add_argument('--work-dir', default='work_dirs/tiny_checkpoints',
                        help='training runs go here')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


def _save_initialised(config: str, path: str, seed: int) -> None:
    import torch
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from headswap.registry import MODELS
    from headswap.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    torch.manual_seed(seed)
    with DefaultScope.overwrite_default_scope('headswap'):
        model = MODELS.build(Config.fromfile(osp.join(ROOT, config)).model)
    model.init_weights()
    torch.save(dict(meta=dict(config=config, iters=0), state_dict=model.state_dict()), path)


def _train(config: str, work_dir: str, iters: int, seed: int) -> str:
    from headswap.utils.config import build_runner, load_config
    cfg = load_config(osp.join(ROOT, config))
    cfg.work_dir = work_dir
    cfg.train_cfg.max_iters = iters
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint.interval = iters
    cfg.default_hooks.logger.interval = max(1, iters // 10)
    cfg.default_hooks.visualization.interval = iters
    cfg.randomness = dict(seed=seed, diff_rank_seed=False, deterministic=False)
    cfg.launcher = 'none'
    runner = build_runner(cfg)
    runner.train()
    return osp.join(work_dir, f'iter_{iters}.pth')


def make_tiny_checkpoints(out: str, iters: int = 1000,
                          work_dir: str = 'work_dirs/tiny_checkpoints',
                          seed: int = 0) -> Dict[str, str]:
    """Write both tiny checkpoints into ``out``; returns ``{file name: path}``."""
    if iters < 0:
        raise ValueError(f'--iters must be >= 0, got {iters}')
    os.makedirs(out, exist_ok=True)
    written = {}
    for name, config in STAGES.items():
        path = osp.join(out, name)
        start = time.perf_counter()
        if iters == 0:
            _save_initialised(config, path, seed)
        else:
            run_dir = osp.join(work_dir, osp.splitext(name)[0])
            shutil.copyfile(_train(config, run_dir, iters, seed), path)
        print(f'{path}: {"untrained" if iters == 0 else f"{iters} iterations"} of {config} '
              f'({time.perf_counter() - start:.0f} s)', flush=True)
        written[name] = path
    return written


def main(argv=None):
    args = parse_args(argv)
    sys.path.insert(0, ROOT)
    from headswap.utils.cli import friendly_errors
    with friendly_errors('make_tiny_checkpoints.py'):
        make_tiny_checkpoints(args.out, args.iters, args.work_dir, args.seed)


if __name__ == '__main__':
    main()
