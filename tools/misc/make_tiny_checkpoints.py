"""Tiny stage checkpoints for the quick start, the demo and the tests (CPU, minutes).

    python tools/misc/make_tiny_checkpoints.py [--iters 1000] [--out checkpoints/tiny] [--jobs N]

Trains the tiny landmark-conditioned stage-1 config (32x32) and the tiny stage-2 config
(64x64) on the bundled sample ``data/sample`` for ``--iters`` iterations each and copies the
final checkpoints to ``OUT/head2head_aligner_tiny.pth`` and
``OUT/head2scene_blender_tiny.pth``, the files ``configs/inference/headswap_offline_tiny-64.py``
names. ``--iters 0`` saves freshly initialised models instead (tests; the swaps are noise).
The two trainings run side by side in processes of their own (``--jobs``, default: 2 where the
machine has 2 cores or more), the machine's threads shared between them: the tiny models
hardly use a second thread each.

Tiny models trained for a few minutes on 49 frames draw a blurry face of the source person in
the target's pose and blend it into the target: they show the pipeline end to end, not
HeSer's quality. Real swaps need both stages trained on real data at 512x512
(configs/head2head_aligner.py, configs/head2scene_blender.py).
"""
import argparse
import os
import os.path as osp
import shutil
import sys
import time
from typing import Dict, Optional

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STAGES = {
    'head2head_aligner_tiny.pth':
        'configs/head2head/head2head_aligner_tiny-lmk_1xb2-1k_sample-32.py',
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
    parser.add_argument('--jobs', type=int, default=None,
                        help='2 or more: the stages side by side, each in its own process; 1: '
                        'one after the other (default: 2 on a machine with 2 or more cores)')
    parser.add_argument('--stage', choices=sorted(STAGES), help=argparse.SUPPRESS)
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


def _makedirs(path: str, what: str) -> None:
    from headswap.errors import UserError
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise UserError(f'{path}: cannot create the {what} folder ({exc.strerror})') from exc


def _make_stage(name: str, config: str, out: str, iters: int, work_dir: str, seed: int) -> str:
    """One stage's checkpoint at ``out/name``."""
    path = osp.join(out, name)
    start = time.perf_counter()
    if iters == 0:
        _save_initialised(config, path, seed)
    else:
        run_dir = osp.join(work_dir, osp.splitext(name)[0])
        shutil.copyfile(_train(config, run_dir, iters, seed), path)
    print(f'{path}: {"untrained" if iters == 0 else f"{iters} iterations"} of {config} '
          f'({time.perf_counter() - start:.0f} s)', flush=True)
    return path


def _make_side_by_side(out: str, iters: int, work_dir: str, seed: int) -> Dict[str, str]:
    """Every stage at once, each by this script (``--stage NAME``) in a process of its own
    with its share of the machine's threads; each one's log in ``work_dir/NAME.log``."""
    import subprocess

    from headswap.errors import UserError
    _makedirs(work_dir, '--work-dir')
    env = dict(os.environ,
               OMP_NUM_THREADS=str(max(1, (os.cpu_count() or 1) // len(STAGES))))
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    running = {}
    for name, config in STAGES.items():
        log = osp.join(work_dir, osp.splitext(name)[0] + '.log')
        cmd = [sys.executable, osp.abspath(__file__), '--out', out, '--iters', str(iters),
               '--work-dir', work_dir, '--seed', str(seed), '--stage', name]
        with open(log, 'w') as f:
            running[name] = (subprocess.Popen(cmd, env=env, stdout=f,
                                              stderr=subprocess.STDOUT), log)
        print(f'training {config} for {iters} iterations (log: {log})', flush=True)
    failed = []
    for name, (proc, log) in running.items():
        if proc.wait():
            with open(log) as f:
                tail = [ln.rstrip() for ln in f if ln.strip()][-1:]
            failed.append(f'{STAGES[name]} (exit {proc.returncode}): '
                          f'{tail[0] if tail else "no output"}; log: {log}')
        else:
            print(f'{osp.join(out, name)}: {iters} iterations of {STAGES[name]}', flush=True)
    if failed:
        raise UserError('training failed: ' + ' | '.join(failed))
    return {name: osp.join(out, name) for name in STAGES}


def make_tiny_checkpoints(out: str, iters: int = 1000,
                          work_dir: str = 'work_dirs/tiny_checkpoints',
                          seed: int = 0, jobs: Optional[int] = None) -> Dict[str, str]:
    """Write both tiny checkpoints into ``out``; returns ``{file name: path}``.

    ``jobs``: 2 or more trains the (two) stages at once, each in a process of its own with
    its share of the machine's cores; 1 one after the other, here (default: 2 when the
    machine has 2 cores or more).
    Untrained ones (``iters=0``) are written here, in this process.
    """
    if iters < 0:
        raise ValueError(f'--iters must be >= 0, got {iters}')
    _makedirs(out, '--out')
    jobs = jobs if jobs is not None else min(2, os.cpu_count() or 1)
    if iters == 0 or jobs <= 1:
        return {name: _make_stage(name, config, out, iters, work_dir, seed)
                for name, config in STAGES.items()}
    return _make_side_by_side(out, iters, work_dir, seed)


def main(argv=None):
    args = parse_args(argv)
    sys.path.insert(0, ROOT)
    from headswap.utils.cli import friendly_errors
    with friendly_errors('make_tiny_checkpoints.py'):
        if args.stage:  # one stage of a side-by-side run
            _make_stage(args.stage, STAGES[args.stage], args.out, args.iters, args.work_dir,
                        args.seed)
        else:
            make_tiny_checkpoints(args.out, args.iters, args.work_dir, args.seed, args.jobs)


if __name__ == '__main__':
    main()
