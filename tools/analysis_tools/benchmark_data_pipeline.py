"""Milliseconds per training sample in a config's data pipeline, per transform and per K.

    python tools/analysis_tools/benchmark_data_pipeline.py [--config CFG] [--samples 20] \
        [--num-sources 1 2 4 8] [--data-root data/sample] [--out bench.json]

The training data of a GPU step is made on the CPU by the data loader's workers: when a
worker needs longer for a batch than the GPU for a step, the GPU waits (``data_time`` in the
training log). This builds the config's training dataset, loads ``--samples`` samples for
each K (sources per sample) in this process, one CPU thread, and prints the milliseconds each
transform takes per sample, their sum, and how many workers would keep up with a given step
time (``--step-seconds``; the batch size is the config's). The first ``--warmup`` samples of
each K are not timed.

Before/after a change: run this file's copy in each tree, one after the other, on the same
machine (``PYTHONPATH=OLD_TREE python OLD_TREE/tools/analysis_tools/benchmark_data_pipeline.py``,
where the old tree has this script; otherwise this script with ``--code-root OLD_TREE``).
"""
import argparse
import copy
import json
import math
import os
import os.path as osp
import sys
import time
from collections import defaultdict
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = ('configs/head2head/'
                  'head2head_aligner_lpd-gn-lmk-arcface-r100_1xb4-200k_talking-heads-512.py')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--config', default=DEFAULT_CONFIG)
    p.add_argument('--data-root', default=osp.join(ROOT, 'data', 'sample'))
    p.add_argument('--num-sources', type=int, nargs='+', default=[1, 2, 4, 8])
    p.add_argument('--samples', type=int, default=20, help='timed samples per K')
    p.add_argument('--warmup', type=int, default=2, help='untimed samples per K first')
    p.add_argument('--step-seconds', type=float, default=0.196,
                   help='a GPU step to keep up with (default: the one-GPU landmark config '
                   'through the Runner on an H200, batch 4)')
    p.add_argument('--code-root', default=ROOT,
                   help='the headswap tree to import (another checkout: before/after)')
    p.add_argument('--out', help='also write the results as JSON')
    return p.parse_args(argv)


class Timed:
    """A pipeline transform that adds its own time to ``totals[name]``."""

    def __init__(self, transform, name: str, totals: Dict[str, float]):
        self.transform, self.name, self.totals = transform, name, totals

    def __call__(self, results):
        start = time.perf_counter()
        out = self.transform(results)
        self.totals[self.name] += time.perf_counter() - start
        return out


def measure(dataset, ks: List[int], samples: int, warmup: int) -> Dict[int, Dict[str, float]]:
    """``{K: {transform: ms per sample, ..., 'total': ms}}`` (total: the whole ``dataset[i]``;
    K 0 for datasets without sources, stage 2's)."""
    totals: Dict[str, float] = defaultdict(float)
    names = []
    for i, t in enumerate(dataset.pipeline.transforms):
        names.append(f'{i}:{type(t).__name__}')
        dataset.pipeline.transforms[i] = Timed(t, names[-1], totals)
    n = len(dataset)
    kshot = hasattr(dataset, 'num_sources')  # stage 1: index (i, K); stage 2: i

    def item(i: int, k: int):
        return dataset[(i % n, k)] if kshot else dataset[i % n]

    rows = {}
    for k in (ks if kshot else [0]):
        for i in range(warmup):
            item(i, k)
        totals.clear()
        start = time.perf_counter()
        for i in range(samples):
            item(warmup + i, k)
        total = time.perf_counter() - start
        rows[k] = {name: 1000 * totals[name] / samples for name in names}
        rows[k]['total'] = 1000 * total / samples
    return rows


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, osp.abspath(args.code_root))
    import cv2
    import torch
    torch.set_num_threads(1)
    cv2.setNumThreads(0)  # as in mmengine's data loader workers: one thread each
    from headswap.registry import DATASETS
    from headswap.utils import register_all_modules
    from headswap.utils.config import load_config
    register_all_modules()
    cfg = load_config(args.config)
    ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    ds_cfg.data_root = args.data_root
    dataset = DATASETS.build(ds_cfg)
    batch = cfg.train_dataloader.batch_size
    rows = measure(dataset, args.num_sources, args.samples, args.warmup)
    import headswap
    print(f'# data pipeline of {osp.basename(args.config)}: {len(dataset)} samples of '
          f'{args.data_root}, code {osp.dirname(osp.dirname(headswap.__file__))}, one CPU '
          f'thread, ms per sample (mean of {args.samples})')
    names = [k for k in next(iter(rows.values())) if k != 'total']
    print('| K | ' + ' | '.join(n.split(':', 1)[1] for n in names) + ' | total ms | '
          f'workers for a {args.step_seconds:g}-s step of {batch} |')
    print('|' + ' --- |' * (len(names) + 3))
    for k, row in rows.items():
        workers = math.ceil(row['total'] * batch / 1000 / args.step_seconds)
        print(f'| {k} | ' + ' | '.join(f'{row[n]:.1f}' for n in names)
              + f" | {row['total']:.1f} | {workers} |")
    mean = sum(r['total'] for r in rows.values()) / len(rows)
    print(f'mean over K {list(rows)}: {mean:.1f} ms per sample, '
          f'{1000 / mean:.1f} samples/s per worker')
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)) or '.', exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(dict(config=args.config, batch=batch, rows=rows, mean_ms=mean), f,
                      indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
