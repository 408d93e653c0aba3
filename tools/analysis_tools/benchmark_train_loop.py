"""Training speed through mmengine's Runner: a config as it is against the per-iteration reads.

    # one GPU, the landmark config on the bundled sample
    # (--config defaults to configs/head2head/head2head_aligner_lpd-gn-lmk-*.py)
    python tools/analysis_tools/benchmark_train_loop.py --amp --random-weights \\
        [--warmup 40] [--iters 80] [--profile DIR] [--out bench.json]
    # CPU smoke run
    python tools/analysis_tools/benchmark_train_loop.py --tiny
    # settings of one config side by side (each the 'config' variant with its options)
    python tools/analysis_tools/benchmark_train_loop.py --amp --random-weights \\
    --config configs/head2head/head2head_aligner_lpd-gn-lmk-arcface-r100_1xb4-2500_sample-512.py \\
        --variants config --setting b4 '' --setting b8 'train_dataloader.batch_size=8'

``benchmark_aligner.py`` times ``train_step`` alone on synthetic frames; this times what
``tools/train.py`` runs: the data loader on the bundled sample (``learning_check.py``'s
training split), the model's ``train_step`` and every hook, one iteration after the other.
Two variants, one after the other in one process, from the same seed:

* ``per-iteration reads`` (the path before): mmengine's ``RuntimeInfoHook`` reads every
  logged value after every iteration, ``NonFiniteLossHook`` checks every iteration, and the
  optimizers (foreach Adam) check the gradients on the host: the host waits for the GPU
  three times per iteration and the GPU waits while the host prepares the next one;
* ``config``: the config as it is (``DeferredRuntimeInfoHook``, the non-finite check every
  logger interval, fused Adam skipping non-finite steps on the device, where the config
  says so).

Each variant trains ``--warmup`` iterations (cuDNN autotuning; CUDA graphs recorded once
per K) and then ``--iters`` timed ones (the GPU synchronised at both ends); printed: s/iter,
images/s and the speed-up. ``--profile DIR``: ``--profile-iters`` more iterations of each
variant under torch.profiler; per iteration, host syncs and the host ms spent waiting in
them, kernel and graph launches, summed GPU kernel time; operator tables in
``DIR/<variant>.txt``.

``--setting NAME 'k=v k=v'`` (repeatable): each variant runs once per setting, with the
setting's options on top of ``--cfg-options``; the table compares images/s (samples per
second, so settings of different batch sizes compare) with its first row. ``--fit-seconds S``
adds how many iterations of each row fit S seconds of training (``fit_iters`` in the JSON):
the length of a schedule for a time budget on this GPU.
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile
import time
from typing import List, Optional

import torch
from mmengine.config import DictAction
from mmengine.hooks import Hook

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
for path in (ROOT, HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

from learning_check import split_index, training_config  # noqa: E402  (this folder's tool)

TINY_CONFIG = 'configs/head2head/head2head_aligner_tiny_1xb2-1k_sample-32.py'
VARIANTS = ('per-iteration reads', 'config')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--config', help='training config (default: the one-GPU landmark config; '
                   'the tiny one with --tiny)')
    p.add_argument('--tiny', action='store_true', help='tiny config and counts (CPU check)')
    p.add_argument('--data-root', default='data/sample')
    p.add_argument('--warmup', type=int, help='untimed iterations first (default 40; tiny 2)')
    p.add_argument('--iters', type=int, help='timed iterations (default 80; tiny 4)')
    p.add_argument('--variants', default=','.join(VARIANTS),
                   help=f'comma-separated, of: {", ".join(VARIANTS)}')
    p.add_argument('--amp', action='store_true', help='bf16 autocast (as tools/train.py --amp)')
    p.add_argument('--random-weights', action='store_true',
                   help='frozen VGG-19 / ArcFace with random weights (no checkpoint files)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    p.add_argument('--fit-seconds', type=float,
                   help='also print how many iterations of each row fit this many seconds '
                   "of training at its measured step (a schedule's length for a time budget)")
    p.add_argument('--setting', nargs=2, action='append', metavar=('NAME', 'OPTIONS'),
                   help="a named setting: 'k=v k=v' config options on top of --cfg-options "
                   '(repeatable; each variant runs once per setting)')
    p.add_argument('--profile', metavar='DIR', help='profile each variant (tables to DIR)')
    p.add_argument('--profile-iters', type=int, default=5)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', help='JSON file for the results')
    args = p.parse_args(argv)
    tiny = args.tiny
    args.warmup = args.warmup if args.warmup is not None else (2 if tiny else 40)
    args.iters = args.iters if args.iters is not None else (4 if tiny else 80)
    args.config = args.config or (TINY_CONFIG if tiny else osp.join(
        'configs', 'head2head',
        'head2head_aligner_lpd-gn-lmk-arcface-r100_1xb4-200k_talking-heads-512.py'))
    args.variants = [v.strip() for v in args.variants.split(',') if v.strip()]
    unknown = set(args.variants) - set(VARIANTS)
    if unknown:
        p.error(f'unknown variants {sorted(unknown)}; choose from {list(VARIANTS)}')
    settings = []
    for name, options in args.setting or []:
        try:
            settings.append((name, parse_options(options)))
        except ValueError as e:
            p.error(f'--setting {name}: {e}')
    args.setting = settings or [('', {})]
    return args


def parse_options(text: str) -> dict:
    """``'a.b=1 c=x'`` -> ``{'a.b': 1, 'c': 'x'}``, values parsed as ``--cfg-options``
    parses them."""
    pairs = text.split()
    bad = [p for p in pairs if '=' not in p or p.startswith('=')]
    if bad:
        raise ValueError(f'expected key=value pairs, got {" ".join(bad)}')
    ns = argparse.Namespace()
    DictAction(option_strings=[], dest='options')(None, ns, pairs)
    return getattr(ns, 'options', {})


def per_iteration_reads(cfg) -> None:
    """``cfg`` changed to the path before: every logged value read after every iteration,
    the non-finite check every iteration, the optimizers' non-finite check on the host."""
    cfg.default_hooks.runtime_info = dict(type='RuntimeInfoHook')
    for hook in cfg.get('custom_hooks', []):
        if hook.get('type') == 'NonFiniteLossHook':
            hook['interval'] = 1
    for part in cfg.optim_wrapper.values():
        if isinstance(part, dict) and isinstance(part.get('optimizer'), dict):
            part['optimizer'].pop('fused', None)


class _Clock(Hook):
    """Wall time of iterations ``warmup`` to ``warmup + iters`` (GPU synchronised at
    both ends), then ``profile_iters`` under torch.profiler."""

    priority = 'LOWEST'

    def __init__(self, warmup: int, iters: int, profile_iters: int, cuda: bool):
        self.warmup, self.iters, self.profile_iters = warmup, iters, profile_iters
        self.cuda, self.start, self.seconds, self.prof = cuda, None, None, None
        # CUDA-graph recordings inside the timed window (a K first drawn there): the window
        # then times recordings, not steps
        self.recordings_in_window: Optional[int] = None
        self._recordings_at_start: Optional[int] = None

    @staticmethod
    def _recordings(runner) -> Optional[int]:
        model = getattr(runner.model, 'module', runner.model)
        graphs = getattr(model, 'cuda_graphs', None)
        return None if graphs is None else int(graphs.recordings)

    def _sync(self):
        if self.cuda:
            torch.cuda.synchronize()

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        done = runner.iter + 1
        if done == self.warmup:
            self._sync()
            self.start = time.perf_counter()
            self._recordings_at_start = self._recordings(runner)
        elif done == self.warmup + self.iters:
            self._sync()
            self.seconds = time.perf_counter() - self.start
            end = self._recordings(runner)
            if end is not None and self._recordings_at_start is not None:
                self.recordings_in_window = end - self._recordings_at_start
            if self.profile_iters:
                from torch.profiler import ProfilerActivity, profile
                acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if self.cuda else [])
                self.prof = profile(activities=acts)
                self.prof.start()
        elif self.prof is not None and done == self.warmup + self.iters + self.profile_iters:
            self._sync()
            self.prof.stop()


def run_variant(args, variant: str, ann_file: str, work_dir: str,
                setting: tuple = ('', {})) -> dict:
    from headswap.utils.config import build_runner
    name, options = setting
    cfg = training_config(args.config, ann_file, args.data_root, work_dir, args.amp,
                          args.seed, {**args.cfg_options, **options}, args.random_weights)
    if variant == 'per-iteration reads':
        per_iteration_reads(cfg)
    profile_iters = args.profile_iters if args.profile else 0
    cfg.train_cfg.max_iters = args.warmup + args.iters + profile_iters
    runner = build_runner(cfg)
    cuda = next(runner.model.parameters()).is_cuda
    clock = _Clock(args.warmup, args.iters, profile_iters, cuda)
    runner.register_hook(clock, priority='LOWEST')
    runner.train()
    batch = int(cfg.train_dataloader.batch_size)
    row = dict(variant=variant, setting=name, iters=args.iters,
               s_per_iter=clock.seconds / args.iters,
               images_per_s=batch * args.iters / clock.seconds, batch_size=batch)
    if clock.recordings_in_window:
        row['recordings_in_window'] = clock.recordings_in_window
        print(f'benchmark_train_loop: {_label(row)}: {clock.recordings_in_window} CUDA-graph '
              'recording(s) inside the timed iterations (a number of sources first drawn '
              'there): its s/iter counts them; raise --warmup', file=sys.stderr, flush=True)
    if clock.prof is not None:
        from headswap.utils.profiling import profile_summary, write_profile_tables
        row['profile'] = profile_summary(clock.prof, profile_iters)
        os.makedirs(args.profile, exist_ok=True)
        label = _label(row)
        write_profile_tables(clock.prof, osp.join(args.profile, f'{_file_name(label)}.txt'),
                             f'{label}, {profile_iters} iterations: '
                             f'{json.dumps(row["profile"])}')
    del runner
    if cuda:
        torch.cuda.empty_cache()
    return row


def _label(row: dict) -> str:
    return f'{row["variant"]}, {row["setting"]}' if row.get('setting') else row['variant']


def _file_name(label: str) -> str:
    return ''.join(c if c.isalnum() or c in '-.' else '_' for c in label)


def print_table(rows: List[dict], fit_seconds: Optional[float] = None) -> None:
    """images/s of each row against the first (the same ratio as s/iter's at one batch
    size; samples per second where settings change it); with ``fit_seconds``, each row's
    ``fit_iters``."""
    base: Optional[dict] = rows[0] if rows else None
    fit = f' iterations in {fit_seconds:g} s |' if fit_seconds else ''
    print(f'| variant | batch | s/iter | images/s | vs {_label(base) if base else "-"} |{fit}')
    print('| --- | --- | --- | --- | --- |' + (' --- |' if fit else ''))
    for r in rows:
        speed = f'{r["images_per_s"] / base["images_per_s"]:.2f}x'
        cell = f' {r["fit_iters"]} |' if fit else ''
        timed = ' (recordings inside)' if r.get('recordings_in_window') else ''
        print(f'| {_label(r)} | {r["batch_size"]} | {r["s_per_iter"]:.3f}{timed} | '
              f'{r["images_per_s"]:.2f} | {speed} |{cell}')
    profiled = [((_label(r), ), r['profile']) for r in rows if 'profile' in r]
    if profiled:
        from headswap.utils.profiling import profile_table
        print('\n' + profile_table(('variant', ), profiled, 'iteration'))


def main(argv=None) -> int:
    args = parse_args(argv)
    from headswap.utils.cli import friendly_errors
    with friendly_errors('benchmark_train_loop.py'):
        device = torch.cuda.get_device_name() if torch.cuda.is_available() else 'CPU'
        print(f'# training-loop benchmark: {args.config}\ndevice {device}, torch '
              f'{torch.__version__}, {args.warmup} warm-up + {args.iters} timed iterations '
              f'per variant, data {args.data_root}', flush=True)
        rows = []
        with tempfile.TemporaryDirectory() as tmp:
            ann_file = split_index(args.data_root, 4, tmp)[0]
            for variant in args.variants:
                for setting in args.setting:
                    label = _label(dict(variant=variant, setting=setting[0]))
                    rows.append(run_variant(args, variant, ann_file,
                                            osp.join(tmp, _file_name(label)), setting))
                    print(f'{label}: {rows[-1]["s_per_iter"]:.3f} s/iter', flush=True)
        if args.fit_seconds:  # the iterations of each row that fit that time
            for r in rows:
                r['fit_iters'] = int(args.fit_seconds / r['s_per_iter'])
        print_table(rows, args.fit_seconds)
        if args.out:
            with open(args.out, 'w') as f:
                json.dump(dict(config=args.config, device=device, rows=rows), f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
