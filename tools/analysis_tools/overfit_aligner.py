"""Overfit a stage-1 config on a handful of frames: a sanity check of model and losses.

    python tools/analysis_tools/overfit_aligner.py CONFIG [--frames 4] [--iters 300]
        [--batch-size 1] [--target-ratio 5] [--cfg-options k=v ...]

Trains the config's model (its optimizer settings, its losses) on the first
``--frames`` samples of its training set and prints the L1 term every
``--log-every`` iterations. Passes (exit 0) when the mean L1 of the last 10
iterations is at least ``--target-ratio`` times lower than the L1 of the first
iteration *and* below the L1 of the fitted targets' per-pixel mean image (a model
that ignores its inputs reaches the ratio but not that). On CPU use the tiny config,
e.g. the tests' synthetic one, reconstruction only (with driver augmentation and the
adversarial terms the tiny model was still above the mean image after 400 iterations):

    python tools/analysis_tools/overfit_aligner.py \\
        tests/data/configs/head2head_aligner_tiny_synthetic.py --iters 600 \\
        --cfg-options model.driver_augmentation=None model.gan_warmup=100000
"""
import argparse
import sys
import time

import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('--frames', type=int, default=4, help='number of training samples to fit')
    p.add_argument('--iters', type=int, default=300)
    p.add_argument('--batch-size', type=int, default=1)
    p.add_argument('--target-ratio', type=float, default=5.0)
    p.add_argument('--log-every', type=int, default=25)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from headswap.registry import DATASETS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS
    from headswap.utils import register_all_modules
    from headswap.utils.config import load_config
    from headswap.utils.config_keys import merge_cfg_options

    cfg = load_config(args.config)
    merge_cfg_options(cfg, args.cfg_options)
    register_all_modules(init_default_scope=False)
    init_default_scope('headswap')
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    model = MODELS.build(cfg.model).to(args.device)
    optim_cfg = dict(cfg.optim_wrapper)
    constructor = optim_cfg.pop('constructor', 'MultiOptimWrapperConstructor')
    optim = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type=constructor, optim_wrapper_cfg=optim_cfg))(model)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    frames = list(range(min(args.frames, len(dataset))))
    model.train()

    history = []
    start = time.time()
    print(f'fitting {len(frames)} samples, batch {args.batch_size}, {args.iters} iterations')
    print('| iter | L1 (mean of last 10) | D loss | s/iter |')
    print('| --- | --- | --- | --- |')
    weight = model.losses['l1'].loss_weight
    for it in range(args.iters):
        idx = np.random.choice(frames, args.batch_size, replace=len(frames) < args.batch_size)
        log = model.train_step(pseudo_collate([dataset[int(i)] for i in idx]), optim)
        history.append(float(log['loss_l1']) / weight)
        if it % args.log_every == 0 or it == args.iters - 1:
            print(f'| {it + 1} | {np.mean(history[-10:]):.4f} | {float(log["loss_d_adv"]):.3f} '
                  f'| {(time.time() - start) / (it + 1):.2f} |', flush=True)
    first, last = history[0], float(np.mean(history[-10:]))
    ratio = first / max(last, 1e-12)
    # a model that ignores its inputs and draws the targets' per-pixel mean lowers L1 far
    # below a random start's; fitting the frames means beating that constant image
    with torch.no_grad():
        targets = model.data_preprocessor(
            pseudo_collate([dataset[int(i)] for i in frames]), False)['targets']['gt_img']
    mean_image = float((targets.mean(0, keepdim=True) - targets).abs().mean())
    ok = ratio >= args.target_ratio and last < mean_image
    print(f'mean-image baseline L1 {mean_image:.4f} (the targets\' per-pixel mean)')
    print(f'L1 first iteration {first:.4f}, last 10 iterations {last:.4f}: {ratio:.1f}x lower '
          f'({"PASS" if ok else "FAIL"}: target {args.target_ratio}x and below the mean image)')
    return 0 if ok else 1


if __name__ == '__main__':
    from headswap.utils.cli import friendly_errors
    with friendly_errors('overfit_aligner.py'):
        sys.exit(main())
