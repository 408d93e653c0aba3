"""A CPU proxy of stage-1 learning: what the 512 model does, at a size a laptop trains.

    python tools/analysis_tools/stage1_proxy.py fit4 [--iters 400] [--cfg-options k=v ...]
    python tools/analysis_tools/stage1_proxy.py held-out [--iters 1200] [--cfg-options ...]
    python tools/analysis_tools/stage1_proxy.py generator [--size 256] [--iters 200]

The paper's stage-1 config with the parts that decide whether the driver gets through kept at
the paper's size (embedding widths 512/512/256/256, the 1536 -> 768 -> AdaIN MLP with spectral
norm, the generator's 512-channel blocks, so ~10k AdaIN values) and the expensive parts slimmed
(one block per encoder stage, half-width MobileNetV2s, a small IResNet and VGG), at
``--size`` pixels (32 by default: ~1 s a step on one core). Frozen networks have random weights.

* ``fit4``: the 4 frames of the bundled clip most different in landmarks, one per step (the
  paper's batch 1), no driver augmentation; prints PSNR against the mean of the 4 targets,
  how many outputs are nearest their own target and the driver sensitivity, for the model in
  training and in evaluation mode. A model that follows its drivers reaches 4/4.
* ``held-out``: trains on the carphone frames minus every 4th, scores the held-out ones
  (sources: 4 training frames) against the mean of the training targets.
* ``generator``: the LPD generator alone (constant AdaIN input) fitting the mean frame: how
  fast the generator itself learns at ``--size``.

Evidence of docs/en/stage1_learning.md; e.g. BatchNorm vs GroupNorm encoders:
``fit4 --cfg-options model.pose_encoder.norm_cfg.type=BN ...``.
"""
import argparse
import copy
import json
import os.path as osp
import sys
import time

import numpy as np
import torch
from mmengine.config import DictAction

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
for path in (ROOT, osp.dirname(osp.abspath(__file__))):
    if path not in sys.path:
        sys.path.insert(0, path)

CONFIG = 'configs/head2head/head2head_aligner_lpd-gn-arcface-r100_1xb1-200k_talking-heads-512.py'
SAMPLE = osp.join(ROOT, 'data/sample')
CLIP = 'frames/carphone/pristine/'


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('mode', choices=['fit4', 'held-out', 'generator'])
    p.add_argument('--config', default=CONFIG, help='stage-1 config to slim down')
    p.add_argument('--size', type=int, default=32, help='image side (a power of two >= 16)')
    p.add_argument('--iters', type=int, default=400)
    p.add_argument('--every', type=int, default=100, help='steps between two scores')
    p.add_argument('--lr', type=float, default=None, help='generator-side lr (D: 4x)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                   help='overrides of the slimmed config (model.*, after slimming)')
    return p.parse_args(argv)


def slim_config(path: str, size: int, options: dict):
    from headswap.utils.config import load_config
    from headswap.utils.config_keys import merge_cfg_options
    cfg = load_config(osp.join(ROOT, path))
    m = cfg.model
    levels = int(np.log2(size // 4))
    small_in = max(64, size)
    m.vgg.update(checkpoint=None, base_channels=16)
    m.discriminator.base_channels = 32
    m.identity_encoder.update(checkpoint=None, depths=(1, 1, 1, 1), base_channels=32,
                              input_size=small_in)
    m.portrait_encoder.update(input_size=small_in, depths=(1, 1, 1, 1), stem_channels=32,
                              base_channels=32, groups=8, width_per_group=8, checkpoint=None)
    for name in ('pose_encoder', 'expression_encoder'):
        m[name].update(input_size=small_in, width_mult=0.5, checkpoint=None)
    m.generator.update(channels=(512, 512, 512, 256, 128, 64, 32, 32)[:levels + 1],
                       out_resolution=size)
    m.update(ema=None, diagnostics_window=0, cuda_graphs=False)
    merge_cfg_options(cfg, options)
    return cfg


def load_clip(size: int):
    """uint8 ``(N, 3, S, S)`` frames, float ``(N, 1, S, S)`` head masks, ``(N, 136)`` landmarks."""
    from learning_check import load_frames  # this folder's tool: one loader of sample frames
    with open(osp.join(SAMPLE, 'index.json')) as f:
        rows = sorted((r for r in json.load(f)['data_list'] if r['img_path'].startswith(CLIP)),
                      key=lambda r: r['frame'])
    imgs, masks, points = load_frames(SAMPLE, rows, size)
    return imgs, masks, torch.from_numpy(points).flatten(1)


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(4 / (a - b).pow(2).mean()))


def scores(out: torch.Tensor, target: torch.Tensor) -> str:
    dist = (out[:, None] - target[None]).abs().mean((2, 3, 4))
    nearest = int((dist.argmin(1) == torch.arange(len(out))).sum())
    sens = float(out.std(0).mean() / target.std(0).mean())
    return f'psnr {_psnr(out, target):.2f} nearest {nearest}/{len(out)} sensitivity {sens:.2f}'


def train_aligner(args, held_out: bool) -> None:
    from headswap.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
    from headswap.structures import HeadSwapDataSample
    from headswap.utils import register_all_modules
    register_all_modules()
    cfg = slim_config(args.config, args.size, args.cfg_options)
    if not held_out:
        cfg.model.driver_augmentation = None
    torch.manual_seed(args.seed)
    model = MODELS.build(cfg.model).train()
    optim = copy.deepcopy(cfg.optim_wrapper)
    if args.lr is not None:
        optim.generator.optimizer.lr = args.lr
        optim.discriminator.optimizer.lr = 4 * args.lr
    constructor = optim.pop('constructor')
    wrappers = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type=constructor, optim_wrapper_cfg=dict(optim)))(model)
    imgs, masks, points = load_clip(args.size)
    if held_out:
        train = [i for i in range(len(imgs)) if i % 4 != 2]
        test = [i for i in range(len(imgs)) if i % 4 == 2]
        sources = train[::max(1, len(train) // 4)][:4]
    else:
        test = [int((points - points.mean(0)).norm(dim=1).argmax())]
        while len(test) < 4:
            test.append(int(torch.cdist(points, points[test]).min(1).values.argmax()))
        train = test
        sources = [i for i in range(len(imgs)) if i not in test][:2]
    rng = np.random.default_rng(args.seed)

    def batch(frames, srcs):
        samples = []
        for i in frames:
            s = HeadSwapDataSample()
            s.gt_img, s.gt_mask = imgs[i], masks[i]
            s.gt_landmarks = points[i].view(-1, 2)  # read by landmark-conditioned models
            samples.append(s)
        return dict(inputs=dict(source_imgs=[imgs[s] for s in srcs],
                                driver_img=[imgs[i] for i in frames]), data_samples=samples)

    from mmengine.logging import MessageHub
    hub = MessageHub.get_current_instance()
    start = time.perf_counter()
    for it in range(1, args.iters + 1):
        hub.update_info('iter', it - 1)  # as the Runner does (model.gan_warmup counts on it)
        if held_out:
            frame = int(rng.choice(train))
            srcs = [rng.choice([i for i in train if i != frame], 2, replace=False)]
        else:
            frame, srcs = train[it % len(train)], [sources]
        model.train_step(batch([frame], srcs), wrappers)
        if it % args.every and it != args.iters:
            continue
        with torch.no_grad():
            data = model.data_preprocessor(batch(test, [sources] * len(test)), False)
            target = data['targets']['gt_img']
            train_targets = imgs[train].float() / 127.5 - 1
            if model.reconstruct == 'head':
                target = model.composite(target, data['targets']['gt_mask'])
                train_targets = model.composite(train_targets, masks[train])
            line = [f'step {it}']
            for mode in ('train', 'eval'):
                model.train(mode == 'train')
                out, _ = model.reenact(data['inputs']['source_imgs'],
                                       data['inputs']['driver_img'],
                                       driver_landmarks=data['inputs'].get('driver_landmarks'))
                line.append(f'{mode}: {scores(out, target)}')
            model.train()
            mean = train_targets.mean(0, keepdim=True).expand_as(target)
            line.append(f'mean face psnr {_psnr(mean, target):.2f}')
            line.append(f'{time.perf_counter() - start:.0f} s')
        print(' | '.join(line), flush=True)


def fit_generator(args) -> None:
    from headswap.registry import MODELS
    from headswap.utils import register_all_modules
    register_all_modules()
    cfg = slim_config(args.config, args.size, args.cfg_options)
    torch.manual_seed(args.seed)
    generator = MODELS.build(cfg.model.generator)
    imgs, _, _ = load_clip(args.size)
    target = (imgs.float() / 127.5 - 1).mean(0, keepdim=True)
    params = torch.zeros(1, generator.num_adain_params)
    opt = torch.optim.Adam(generator.parameters(), lr=args.lr or 1e-4, betas=(0.9, 0.999))
    start = time.perf_counter()
    for it in range(1, args.iters + 1):
        out, _ = generator(params)
        loss = (out - target).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if it % args.every == 0 or it == args.iters:
            print(f'step {it} | psnr {_psnr(out.detach(), target):.2f} | '
                  f'{time.perf_counter() - start:.0f} s', flush=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.size < 16 or args.size & (args.size - 1):
        from headswap.utils.cli import UserError
        raise UserError(f'--size must be a power of two >= 16, got {args.size}')
    if args.mode == 'generator':
        fit_generator(args)
    else:
        train_aligner(args, held_out=args.mode == 'held-out')
    return 0


if __name__ == '__main__':
    from headswap.utils.cli import friendly_errors
    with friendly_errors('stage1_proxy'):
        sys.exit(main())
