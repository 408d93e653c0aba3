"""Training speed and memory of the Head2Head Aligner under precision/layout/compile settings.

    # one GPU, the paper's 512x512 config (batch 1, K = 8), every variant and the loss-curve check
    python tools/analysis_tools/benchmark_aligner.py --out bench.json
    # CPU smoke run of the same code paths at tiny sizes
    python tools/analysis_tools/benchmark_aligner.py --device cpu --tiny

Each variant trains the aligner (a full ``train_step``: generator forward, D update, G update
with all losses, EMA) on synthetic 512x512 frames and reports iterations/s, images/s (target
frames reenacted per second), the speed-up over strict fp32 measured in the same run, and
the peak GPU memory. Variants:

* precision: ``fp32`` (strict: TF32 off for matmuls and cuDNN convolutions), ``tf32``
  (TF32 on), ``bf16`` (bfloat16 autocast through ``AutocastOptimWrapper``, what
  ``tools/train.py --amp`` uses; TF32 off, so autocast is the only change);
* memory layout: NCHW or channels_last (model converted; activations follow);
* ``torch.compile`` of every top-level part (encoders, MLP, generator, D, VGG, ArcFace);
* CUDA graphs (``model.cuda_graphs=True``): the three passes of an iteration recorded once
  and replayed (see ``headswap/models/aligners/cuda_graphs.py``); not combined with compile.

Then the loss-curve check: ``--curve-iters`` iterations of strict fp32 and of bf16 from the
same seed and the same data (bf16 with CUDA graphs when they are benchmarked, so that the
check covers the fastest bf16 variant), plus a second fp32 run that measures run-to-run noise (GPU
kernels are not bit-deterministic). Moving averages of the losses are compared; the
reconstruction losses must agree within ``--curve-tol`` (relative) or within twice the
fp32 noise. Adversarial terms are reported, not judged (a GAN's game is chaotic).

Frozen networks run with random weights (no checkpoint is needed to time them). The
script needs torch, torchvision, mmengine and headswap; without mmcv installed it imports
only the model code it needs. ``--out`` writes (and merges into) a JSON file, so a long
benchmark can be split over several commands (``--variants``, ``--compile``,
``--curve-iters 0``); the table printed at the end covers every result in the file.
"""
import argparse
import gc
import importlib
import importlib.util
import json
import math
import os
import os.path as osp
import sys
import time
import types
from typing import Dict, List, Optional

import torch
from mmengine.config import DictAction

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PAPER_CONFIG = osp.join(ROOT, 'configs', 'head2head',
                        'head2head_aligner_lpd-arcface-r100_6xb1-1000k_voxceleb2-512.py')
TINY_CONFIG = osp.join(ROOT, 'configs', 'head2head', 'head2head_aligner_tiny_1xb2-1k_sample-32.py')
PARTS = ('portrait_encoder', 'pose_encoder', 'expression_encoder', 'mlp', 'generator',
         'discriminator', 'vgg', 'identity_encoder')
# image-space losses; the ArcFace terms sit near a constant with random ArcFace weights
JUDGED = ('loss_l1', 'loss_vgg', 'loss_mask')

_MODEL_MODULES = (
    'headswap.models.layers', 'headswap.models.frozen.pretrained',
    'headswap.models.frozen.vgg19_features', 'headswap.models.frozen.iresnet',
    'headswap.models.encoders', 'headswap.models.generators', 'headswap.models.discriminators',
    'headswap.models.losses', 'headswap.models.augmentations',
    'headswap.models.data_preprocessors', 'headswap.models.aligners',
    'headswap.engine.optimizers')


def import_headswap(light: Optional[bool] = None) -> str:
    """Register the aligner's components; ``'light'`` imports only the model code it needs.

    The light path (automatic when mmcv is not installed, as on a GPU host that has only
    torch and mmengine) pre-registers ``headswap.models``, ``headswap.models.frozen`` and
    ``headswap.engine`` as bare packages, so that their ``__init__`` files, which import
    every component (face parsers need mmcv), do not run.
    """
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    if light is None:
        light = importlib.util.find_spec('mmcv') is None
    import headswap
    if light:
        base = osp.dirname(headswap.__file__)
        for pkg in ('headswap.models', 'headswap.models.frozen', 'headswap.engine'):
            if pkg not in sys.modules:
                mod = types.ModuleType(pkg)
                mod.__path__ = [osp.join(base, *pkg.split('.')[1:])]
                mod.__package__ = pkg
                sys.modules[pkg] = mod
    for name in _MODEL_MODULES:
        importlib.import_module(name)
    return 'light' if light else 'full'


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--config', help='stage-1 config (default: the paper config, or the tiny '
                   'one with --tiny)')
    p.add_argument('--tiny', action='store_true', help='tiny config and sizes (CPU check)')
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--batch-size', type=int, help='samples per iteration (default 1; tiny 2)')
    p.add_argument('--num-sources', type=int, help='K (default 8; tiny 2)')
    p.add_argument('--iters', type=int, help='timed iterations per variant (default 20; tiny 3)')
    p.add_argument('--warmup', type=int, help='untimed iterations first (default 5; tiny 1)')
    p.add_argument('--variants', default='fp32,tf32,bf16',
                   help='precisions, comma-separated: fp32 (strict), tf32, bf16')
    p.add_argument('--channels-last', choices=('off', 'on', 'both'), default='both')
    p.add_argument('--compile', choices=('off', 'on', 'both'), default='both')
    p.add_argument('--cuda-graphs', choices=('off', 'on', 'both'), default='both',
                   help='replay the training passes as CUDA graphs (GPU only)')
    p.add_argument('--compile-mode', default=None,
                   help='torch.compile mode (default, reduce-overhead, max-autotune)')
    p.add_argument('--curve-iters', type=int,
                   help='iterations of the fp32/bf16 loss-curve check (default 200; tiny 20; '
                   '0 skips it)')
    p.add_argument('--curve-window', type=int, help='moving-average window (default 20; tiny 5)')
    p.add_argument('--curve-tol', type=float, default=0.05,
                   help='relative tolerance of the judged losses')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                   help='override config settings, e.g. model.generator.cond_max_size=256')
    p.add_argument('--light-import', action='store_true',
                   help='import only the model code even when mmcv is installed')
    p.add_argument('--out', help='JSON file to write / merge the results into')
    p.add_argument('--profile', action='store_true',
                   help='profile a few iterations of each precision (eager, NCHW) and print '
                   'GPU busy time vs wall time and the top operators, instead of the tables')
    args = p.parse_args(argv)
    tiny = args.tiny
    defaults = dict(batch_size=2 if tiny else 1, num_sources=2 if tiny else 8,
                    iters=3 if tiny else 20, warmup=1 if tiny else 5,
                    curve_iters=20 if tiny else 200, curve_window=5 if tiny else 20)
    for k, v in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    args.config = args.config or (TINY_CONFIG if tiny else PAPER_CONFIG)
    return args


# ------------------------------------------------------------------------ data
class SyntheticFrames:
    """A fixed pool of smooth random frames with head masks; batches are pure functions of i.

    Uses its own CPU generator, so every variant and every curve run sees the same data.
    """

    def __init__(self, size: int, batch_size: int, num_sources: int, pool: int = 16,
                 seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        low = torch.rand(pool, 3, 8, 8, generator=g)
        imgs = torch.nn.functional.interpolate(low, size=(size, size), mode='bicubic',
                                               align_corners=False).clamp(0, 1)
        self.frames = (imgs * 255).round().to(torch.uint8)
        yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size),
                                indexing='ij')
        centre = torch.rand(pool, 2, generator=g) * 0.3 - 0.15
        self.masks = (((xx - centre[:, :1, None]) / 0.5)**2 +
                      ((yy - centre[:, 1:, None]) / 0.65)**2 <= 1).float()[:, None]
        # 68 points inside each head (read only by landmark-conditioned configs)
        self.landmarks = ((centre[:, None] + 1 + (torch.rand(pool, 68, 2, generator=g) - 0.5)
                           * 0.8) * size / 2)
        self.pool, self.batch_size, self.k = pool, batch_size, num_sources

    def batch(self, i: int) -> dict:
        from headswap.structures import HeadSwapDataSample
        sources, drivers, samples = [], [], []
        for b in range(self.batch_size):
            t = (i * self.batch_size + b) % self.pool
            src = [(t + 1 + j) % self.pool for j in range(self.k)]
            sample = HeadSwapDataSample(metainfo=dict(frame=t))
            sample.gt_img = self.frames[t]
            sample.gt_mask = self.masks[t]
            sample.gt_landmarks = self.landmarks[t]
            sources.append(self.frames[src])
            drivers.append(self.frames[t].clone())
            samples.append(sample)
        return dict(inputs=dict(source_imgs=sources, driver_img=drivers), data_samples=samples)


# ----------------------------------------------------------------------- model
def set_precision(precision: str) -> None:
    tf32 = precision == 'tf32'
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.set_float32_matmul_precision('high' if tf32 else 'highest')


def build(cfg, args, precision: str, channels_last: bool, compiled: bool, graphs: bool = False):
    from mmengine.registry import init_default_scope

    from headswap.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
    init_default_scope('headswap')
    torch.manual_seed(args.seed)
    model = MODELS.build(dict(cfg.model, cuda_graphs=graphs)).to(args.device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optim_cfg = json.loads(json.dumps(cfg.optim_wrapper.to_dict()))
    constructor = optim_cfg.pop('constructor')
    for part in optim_cfg.values():
        part['type'] = 'AutocastOptimWrapper' if precision == 'bf16' else 'OptimWrapper'
        if precision == 'bf16':
            part['dtype'] = 'bfloat16'
    optim = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type=constructor, optim_wrapper_cfg=optim_cfg))(model)
    if compiled:
        kwargs = {} if args.compile_mode is None else dict(mode=args.compile_mode)
        for name in PARTS:
            part = getattr(model, name, None)
            if part is not None:
                part.compile(**kwargs)
    model.train()
    return model, optim


def sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def release(device: str) -> None:
    gc.collect()
    if device.startswith('cuda'):
        torch.cuda.empty_cache()
    if hasattr(torch, '_dynamo'):
        torch._dynamo.reset()


def time_variant(cfg, args, data: SyntheticFrames, precision: str, channels_last: bool,
                 compiled: bool, graphs: bool = False) -> dict:
    set_precision(precision)
    cuda = args.device.startswith('cuda')
    model, optim = build(cfg, args, precision, channels_last, compiled, graphs)
    torch.manual_seed(args.seed)
    t0 = time.perf_counter()
    for i in range(args.warmup + (3 if compiled else 0)):
        model.train_step(data.batch(i), optim)
    sync(args.device)
    warmup_s = time.perf_counter() - t0
    if cuda:
        torch.cuda.reset_peak_memory_stats(args.device)
    t0 = time.perf_counter()
    for i in range(args.iters):
        log = model.train_step(data.batch(i), optim)
    sync(args.device)
    dt = (time.perf_counter() - t0) / args.iters
    peak = torch.cuda.max_memory_allocated(args.device) / 2**30 if cuda else None
    finite = all(math.isfinite(float(v)) for v in log.values())
    del model, optim
    release(args.device)
    return dict(precision=precision, channels_last=channels_last, compile=compiled,
                cuda_graphs=graphs, s_per_iter=dt, it_per_s=1 / dt,
                images_per_s=args.batch_size / dt, peak_mem_gib=peak, warmup_s=warmup_s,
                finite=finite)


def profile_variant(cfg, args, data: SyntheticFrames, precision: str) -> str:
    """Where one training iteration's time goes: kernel time vs wall time, top operators."""
    from torch.profiler import ProfilerActivity, profile
    set_precision(precision)
    graphs = args.cuda_graphs == 'on'
    model, optim = build(cfg, args, precision, False, False, graphs)
    for i in range(args.warmup):
        model.train_step(data.batch(i), optim)
    sync(args.device)
    activities = [ProfilerActivity.CPU]
    if args.device.startswith('cuda'):
        activities.append(ProfilerActivity.CUDA)
    iters = 3
    t0 = time.perf_counter()
    with profile(activities=activities) as prof:
        for i in range(iters):
            model.train_step(data.batch(i), optim)
        sync(args.device)
    wall = (time.perf_counter() - t0) / iters * 1e3
    events = prof.key_averages()
    kernels = [e for e in prof.events() if e.device_type.name == 'CUDA']
    busy = sum(e.time_range.elapsed_us() for e in kernels) / iters / 1e3
    name = precision + (' + CUDA graphs' if graphs else '')
    lines = [f'## {name}: wall {wall:.1f} ms/iter (profiled), GPU kernel time '
             f'{busy:.1f} ms/iter, {len(kernels) / iters:.0f} kernels/iter']
    for sort in (('self_device_time_total', 'self_cuda_time_total') if kernels else ())\
            + ('self_cpu_time_total',):
        try:
            lines.append(events.table(sort_by=sort, row_limit=15, max_name_column_width=60))
            break
        except (AttributeError, KeyError):
            continue
    del model, optim
    release(args.device)
    return '\n'.join(lines)


def loss_curve(cfg, args, data: SyntheticFrames, precision: str,
               graphs: bool = False) -> Dict[str, List[float]]:
    set_precision(precision)
    model, optim = build(cfg, args, precision, False, False, graphs)
    torch.manual_seed(args.seed)
    curves: Dict[str, List[float]] = {}
    for i in range(args.curve_iters):
        log = model.train_step(data.batch(i), optim)
        for k, v in log.items():
            if k.startswith('loss'):
                curves.setdefault(k, []).append(float(v))
    del model, optim
    release(args.device)
    return curves


def moving_average(x: List[float], w: int) -> List[float]:
    w = max(1, min(w, len(x)))
    return [sum(x[i - w + 1:i + 1]) / w for i in range(w - 1, len(x))]


def compare_curves(ref: Dict[str, List[float]], other: Dict[str, List[float]],
                   w: int) -> Dict[str, dict]:
    out = {}
    for k in ref:
        a, b = moving_average(ref[k], w), moving_average(other[k], w)
        rel = [abs(x - y) / max(abs(x), 1e-8) for x, y in zip(a, b)]
        out[k] = dict(ref_last=a[-1], other_last=b[-1], rel_last=rel[-1], rel_max=max(rel),
                      ref_first=a[0])
    return out


def curve_check(cfg, args, data) -> dict:
    fp32 = loss_curve(cfg, args, data, 'fp32')
    fp32_again = loss_curve(cfg, args, data, 'fp32')
    graphs = args.cuda_graphs != 'off' and args.device.startswith('cuda')
    bf16 = loss_curve(cfg, args, data, 'bf16', graphs)
    vs_bf16 = compare_curves(fp32, bf16, args.curve_window)
    noise = compare_curves(fp32, fp32_again, args.curve_window)
    verdict = {}
    for k in JUDGED:
        if k in vs_bf16:
            allowed = max(args.curve_tol, 2 * noise[k]['rel_max'])
            verdict[k] = vs_bf16[k]['rel_max'] <= allowed
    return dict(iters=args.curve_iters, window=args.curve_window, tol=args.curve_tol,
                bf16_cuda_graphs=graphs,
                bf16_vs_fp32=vs_bf16, fp32_noise=noise, agree=verdict,
                passed=bool(verdict) and all(verdict.values()),
                curves=dict(fp32=fp32, fp32_again=fp32_again, bf16=bf16))


# ----------------------------------------------------------------------- report
def variant_key(r: dict) -> str:
    return (f'{r["precision"]}/{"channels_last" if r["channels_last"] else "nchw"}/'
            f'{"compile" if r["compile"] else "eager"}'
            f'{"/graphs" if r.get("cuda_graphs") else ""}')


def speed_table(results: List[dict]) -> str:
    base = next((r for r in results if variant_key(r) == 'fp32/nchw/eager' and 'error' not in r),
                None)
    lines = ['| precision | layout | compile | CUDA graphs | it/s | images/s | vs strict fp32 '
             '| peak mem (GiB) | warm-up (s) | losses finite |',
             '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |']
    for r in results:
        layout = 'channels_last' if r['channels_last'] else 'NCHW'
        comp = 'yes' if r['compile'] else 'no'
        graphs = 'yes' if r.get('cuda_graphs') else 'no'
        if 'error' in r:
            lines.append(f'| {r["precision"]} | {layout} | {comp} | {graphs} | failed: '
                         f'{r["error"]} | | | | | |')
            continue
        speed = f'{r["images_per_s"] / base["images_per_s"]:.2f}x' if base else '-'
        mem = f'{r["peak_mem_gib"]:.2f}' if r['peak_mem_gib'] is not None else 'n/a (CPU)'
        lines.append(f'| {r["precision"]} | {layout} | {comp} | {graphs} | {r["it_per_s"]:.2f} | '
                     f'{r["images_per_s"]:.2f} | {speed} | {mem} | {r["warmup_s"]:.1f} | '
                     f'{"yes" if r.get("finite", True) else "NO (timing not meaningful)"} |')
    return '\n'.join(lines)


def curve_table(check: dict) -> str:
    bf16 = 'bf16 + CUDA graphs' if check.get('bf16_cuda_graphs') else 'bf16'
    lines = [f'Loss curves, {check["iters"]} iterations from one seed, moving average of '
             f'{check["window"]}: {bf16} vs strict fp32, and fp32 vs fp32 (noise)',
             '| loss | fp32 start | fp32 end | bf16 end | max rel. diff bf16 | max rel. diff '
             'fp32 noise | judged |', '| --- | --- | --- | --- | --- | --- | --- |']
    for k, v in check['bf16_vs_fp32'].items():
        judged = ('agrees' if check['agree'][k] else 'DIFFERS') if k in check['agree'] else '-'
        lines.append(f'| {k} | {v["ref_first"]:.4f} | {v["ref_last"]:.4f} | '
                     f'{v["other_last"]:.4f} | {v["rel_max"]:.3f} | '
                     f'{check["fp32_noise"][k]["rel_max"]:.3f} | {judged} |')
    lines.append(f'curve check: {"PASS" if check["passed"] else "FAIL"} (judged losses within '
                 f'max({check["tol"]}, 2 x fp32 noise))')
    return '\n'.join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    mode = import_headswap(True if args.light_import else None)
    from headswap.utils.config import load_config
    from headswap.utils.config_keys import merge_cfg_options
    cfg = load_config(args.config)
    merge_cfg_options(cfg, args.cfg_options)
    cfg.model.identity_encoder.checkpoint = None
    if cfg.model.get('vgg') is not None:
        cfg.model.vgg.checkpoint = None
    size = int(cfg.model.generator.out_resolution)
    data = SyntheticFrames(size, args.batch_size, args.num_sources, seed=args.seed)
    device_name = (torch.cuda.get_device_name(args.device) if args.device.startswith('cuda')
                   else 'CPU')
    print(f'# Head2Head Aligner training benchmark: {osp.relpath(args.config, ROOT)}')
    print(f'device {device_name}, torch {torch.__version__}, {size}x{size}, batch '
          f'{args.batch_size}, K = {args.num_sources}, {args.iters} timed iterations after '
          f'{args.warmup} (imports: {mode}; frozen networks with random weights)', flush=True)

    if args.profile:
        for precision in args.variants.split(','):
            print(profile_variant(cfg, args, data, precision), flush=True)
        return 0

    results = []
    if args.out and osp.isfile(args.out):
        with open(args.out) as f:
            previous = json.load(f)
        results = [r for r in previous.get('speed', [])]
    layouts = dict(off=[False], on=[True], both=[False, True])[args.channels_last]
    compiles = dict(off=[False], on=[True], both=[False, True])[args.compile]
    graph_modes = dict(off=[False], on=[True], both=[False, True])[args.cuda_graphs]
    if not args.device.startswith('cuda'):
        graph_modes = [False]
    todo = [('fp32', False, False, False)]  # the baseline, measured in every run
    todo += [(p, cl, c, g) for g in graph_modes for c in compiles
             for p in args.variants.split(',') for cl in layouts
             if (p, cl, c, g) != ('fp32', False, False, False) and not (c and g)]
    for precision, cl, comp, graphs in todo:
        if precision not in ('fp32', 'tf32', 'bf16'):
            raise SystemExit(f'--variants: unknown precision {precision!r}; use fp32, tf32, '
                             'bf16')
        key = dict(precision=precision, channels_last=cl, compile=comp, cuda_graphs=graphs)
        try:
            r = time_variant(cfg, args, data, precision, cl, comp, graphs)
        except Exception as e:  # keep the other measurements (OOM, compiler errors)
            release(args.device)
            r = dict(key, error=f'{type(e).__name__}: {str(e).splitlines()[0][:120]}')
        r.update(device=device_name, batch_size=args.batch_size, num_sources=args.num_sources)
        results = [x for x in results if variant_key(x) != variant_key(r)] + [r]
        print(f'{variant_key(r)}: ' + (r['error'] if 'error' in r else
                                       f'{r["images_per_s"]:.2f} images/s'), flush=True)
    print()
    print(speed_table(results))

    report = dict(config=osp.relpath(args.config, ROOT), device=device_name,
                  torch=torch.__version__, resolution=size, speed=results)
    status = 0
    if args.curve_iters > 0:
        check = curve_check(cfg, args, data)
        report['curve_check'] = check
        print()
        print(curve_table(check))
        status = 0 if check['passed'] else 1
    elif args.out and osp.isfile(args.out):
        with open(args.out) as f:
            old = json.load(f).get('curve_check')
        if old is not None:
            report['curve_check'] = old
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=1)
    return status


if __name__ == '__main__':
    sys.exit(main())
