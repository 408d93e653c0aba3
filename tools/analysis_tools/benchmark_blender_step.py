"""Peak memory and time of one Head2Scene Blender training iteration, per warping backend.

Builds the model and optimizers of a config (VGG-19 with random weights: no
file needed), feeds a synthetic batch (face-parsing layouts, random images,
I_A synthesised from I_T the way the training pipeline does it) and runs full
training iterations (generator forward, D_B step, generator step) with each
warping backend, in each precision (``--precisions fp32 bf16``: bf16 is the
``--amp`` of ``tools/train.py``). The supplement reports ~9 GB saved in 512x512
training by same-label correlation; this measures the equivalent here. The first
row (default: fp32, ``blocked``, the config's default setting) is the baseline of
the speed-up column.

    # the paper setting on one GPU (batch per GPU of the config, or --batch)
    python tools/analysis_tools/benchmark_blender_step.py \
        configs/head2scene_blender.py --device cuda --out blender_step.json
    # CPU smoke check
    python tools/analysis_tools/benchmark_blender_step.py \
        configs/head2scene/head2scene_vgg19-unet5_1xb2-20_tiny-64x64.py --device cpu
"""
import argparse
import copy
import gc
import importlib.util
import json
import os
import os.path as osp
import sys
import time
from typing import List, Optional

import numpy as np
import torch

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))


def face_layouts(batch: int, size: int, seed: int) -> torch.Tensor:
    spec = importlib.util.spec_from_file_location(
        'benchmark_warping', osp.join(HERE, 'benchmark_warping.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.face_layouts(batch, size, seed).view(batch, size, size)


def synthetic_batch(batch: int, size: int, head_labels: List[int], seed: int = 0) -> dict:
    """Packed stage-2 samples (docs/en/data_format.md) through the synthesis transforms."""
    from mmengine.dataset import pseudo_collate

    from headswap.datasets.transforms import PerturbHeadMask, ShiftHeadColor
    from headswap.structures import HeadSwapDataSample
    np.random.seed(seed)
    g = torch.Generator().manual_seed(seed)
    targets, others = face_layouts(batch, size, seed), face_layouts(batch, size, seed + 1)
    synth = [PerturbHeadMask(head_labels), ShiftHeadColor(head_labels)]
    samples = []
    for i in range(batch):
        res = dict(target_img=torch.randint(0, 256, (size, size, 3), generator=g,
                                            dtype=torch.uint8).numpy(),
                   target_parsing=targets[i].numpy().astype(np.uint8),
                   other_img=torch.randint(0, 256, (size, size, 3), generator=g,
                                           dtype=torch.uint8).numpy(),
                   other_parsing=others[i].numpy().astype(np.uint8))
        for t in synth:
            res = t(res)
        inputs = {}
        for key in ('target', 'head', 'other'):
            inputs[f'{key}_img'] = torch.from_numpy(res[f'{key}_img'].transpose(2, 0, 1).copy())
            inputs[f'{key}_parsing'] = torch.from_numpy(res[f'{key}_parsing'][None].copy())
        sample = HeadSwapDataSample(metainfo=dict(identity=f'synthetic{i}'))
        sample.gt_img = inputs['target_img']
        samples.append(dict(inputs=inputs, data_samples=sample))
    return pseudo_collate(samples)


def print_table(rows: List[dict]) -> None:
    """Speed-up against the first row; memory saved against dense in the same precision."""
    base = rows[0] if rows and rows[0]['status'] == 'ok' else None
    print('| precision | warping backend | iteration ms | speed-up vs first row | peak MiB '
          '| memory saved vs dense MiB |')
    print('| --- | --- | --- | --- | --- | --- |')
    for r in rows:
        dense = next((d for d in rows if d['backend'] == 'dense' and d['status'] == 'ok'
                      and d['precision'] == r['precision']), None)
        saved = (dense['peak_mib'] - r['peak_mib']
                 if dense and 'peak_mib' in dense and 'peak_mib' in r else None)
        ok = r['status'] == 'ok'
        cells = (f"{r['ms']:.0f}" if ok else r['status'],
                 f"{base['ms'] / r['ms']:.2f}x" if ok and base else '-',
                 f"{r['peak_mib']:.0f}" if 'peak_mib' in r else '-',
                 f'{saved:.0f}' if saved is not None else '-')
        print(f"| {r['precision']} | {r['backend']} | " + ' | '.join(cells) + ' |')


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--batch', type=int, help='default: the config batch size per GPU')
    parser.add_argument('--size', type=int, help='image side (default: 512, or 64 for tiny)')
    parser.add_argument('--backends', nargs='+', default=['blocked', 'dense', 'perlabel'])
    parser.add_argument('--precisions', nargs='+', default=['fp32'], choices=['fp32', 'bf16'],
                        help="bf16: tools/train.py's --amp (autocast in the optimizer wrappers)")
    parser.add_argument('--iters', type=int, default=3, help='timed iterations (+1 warm-up)')
    parser.add_argument('--out', help='also write the results as JSON')
    args = parser.parse_args(argv)

    sys.path.insert(0, ROOT)
    from mmengine.config import Config

    from headswap.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
    from headswap.utils import register_all_modules
    from headswap.utils.config import enable_amp
    register_all_modules()
    cfg = Config.fromfile(args.config)
    device = torch.device(args.device)
    batch = args.batch or cfg.train_dataloader.batch_size
    size = args.size or (64 if cfg.model.unet.num_levels < 7 else 512)
    data = synthetic_batch(batch, size, list(cfg.model.masks.head_labels))
    print(f'# Head2Scene Blender training iteration: {osp.basename(args.config)}, '
          f'{torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"}, '
          f'batch {batch}, {size}x{size}, median of {args.iters}')
    rows = []
    for precision, backend in ((p, b) for p in args.precisions for b in args.backends):
        model_cfg = copy.deepcopy(cfg.model)
        model_cfg.vgg.checkpoint = None
        model_cfg.warping.backend = backend
        row = dict(precision=precision, backend=backend)
        try:
            model = MODELS.build(model_cfg).to(device)
            run_cfg = copy.deepcopy(cfg)
            if precision == 'bf16':
                enable_amp(run_cfg)
            parts = run_cfg.optim_wrapper
            wrappers = OPTIM_WRAPPER_CONSTRUCTORS.build(
                dict(type=parts.pop('constructor'), optim_wrapper_cfg=parts))(model)
            model.train_step(data, wrappers)  # warm-up
            if device.type == 'cuda':
                torch.cuda.synchronize(device)
                torch.cuda.reset_peak_memory_stats(device)
            times = []
            for _ in range(args.iters):
                t0 = time.perf_counter()
                model.train_step(data, wrappers)
                if device.type == 'cuda':
                    torch.cuda.synchronize(device)
                times.append(time.perf_counter() - t0)
            row.update(status='ok', ms=1000 * sorted(times)[len(times) // 2])
            if device.type == 'cuda':
                row['peak_mib'] = torch.cuda.max_memory_allocated(device) / 2**20
        except torch.cuda.OutOfMemoryError:
            row['status'] = 'OOM'
        except RuntimeError as e:
            row['status'] = 'OOM' if 'out of memory' in str(e) else f'error: {e}'.splitlines()[0]
        finally:
            model = wrappers = None
            gc.collect()
            if device.type == 'cuda':
                torch.cuda.empty_cache()
        rows.append(row)
    print_table(rows)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)) or '.', exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(dict(config=args.config, batch=batch, size=size, rows=rows), f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
