"""Benchmark the label-restricted attention backends of semantic-guided exemplar warping.

One run measures forward+backward time and peak memory of every backend at
several correlation grids (the grid of a 512x512 image at 1/8, 1/4 and 1/2:
64x64, 128x128, 256x256), batch 4, 256 channels, on synthetic face-parsing
layouts (background, cloth, neck, hair, skin ellipse, ears, brows, eyes,
nose, lips), in float32 and bfloat16. ``dense`` is the baseline of the same
run; out-of-memory is reported as ``OOM``.

    # GPU, the real sizes (targets: at 128x128 the fused backend uses <= 1/30 of
    # dense's memory and is no slower; at 256x256 it runs where dense cannot)
    python tools/analysis_tools/benchmark_warping.py --device cuda --out warping.json
    # CPU, tiny sizes (checks the script and the backends)
    python tools/analysis_tools/benchmark_warping.py --device cpu --tiny

Imports only torch: the backends are loaded from
``headswap/models/warping/label_attention.py`` (and ``varlen_attention.py``) by path.
"""
import argparse
import gc
import importlib.util
import json
import math
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Optional

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BACKEND_DIR = osp.join(ROOT, 'headswap', 'models', 'warping')
NUM_LABELS = 19
FUSED = ('blocked', 'flex', 'varlen')


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, osp.join(BACKEND_DIR, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_backends():
    _load('varlen_attention')  # imported by label_attention.py
    return _load('label_attention')


def face_layouts(batch: int, size: int, seed: int = 0) -> torch.Tensor:
    """``(batch, size*size)`` CelebAMask-HQ label ids of plausible, jittered portraits."""
    g = torch.Generator().manual_seed(seed)
    ys, xs = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size),
                            indexing='ij')
    out = []

    def u(lo, hi):
        return lo + (hi - lo) * torch.rand((), generator=g).item()

    for _ in range(batch):
        lab = torch.zeros(size, size, dtype=torch.long)
        cx, cy = u(0.45, 0.55), u(0.4, 0.5)
        fw, fh = u(0.17, 0.23), u(0.23, 0.29)

        def ellipse(x0, y0, ax, ay):
            return ((xs - x0) / ax) ** 2 + ((ys - y0) / ay) ** 2 <= 1

        lab[ys > u(0.82, 0.88)] = 16  # cloth
        lab[(ys > cy + 0.6 * fh) & (ys < 0.92) & ((xs - cx).abs() < 0.5 * fw)] = 14  # neck
        lab[ellipse(cx, cy - 0.35 * fh, 1.25 * fw, 0.85 * fh)] = 17  # hair
        lab[ellipse(cx - fw, cy, 0.18 * fw, 0.2 * fh)] = 7  # ears
        lab[ellipse(cx + fw, cy, 0.18 * fw, 0.2 * fh)] = 8
        lab[ellipse(cx, cy + 0.1 * fh, fw, fh)] = 1  # skin
        for side, eye, brow in ((-1, 4, 2), (1, 5, 3)):
            lab[ellipse(cx + side * 0.4 * fw, cy - 0.25 * fh, 0.25 * fw, 0.05 * fh)] = brow
            lab[ellipse(cx + side * 0.4 * fw, cy - 0.1 * fh, 0.18 * fw, 0.07 * fh)] = eye
        lab[ellipse(cx, cy + 0.15 * fh, 0.12 * fw, 0.2 * fh)] = 10  # nose
        lab[ellipse(cx, cy + 0.5 * fh, 0.35 * fw, 0.06 * fh)] = 12  # lips
        lab[ellipse(cx, cy + 0.6 * fh, 0.3 * fw, 0.06 * fh)] = 13
        out.append(lab.flatten())
    return torch.stack(out)


def make_inputs(batch: int, size: int, channels: int, dtype: torch.dtype,
                device: torch.device, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    n = size * size
    labels_a = face_layouts(batch, size, seed)
    labels_t = face_layouts(batch, size, seed + 1)
    q = torch.nn.functional.normalize(torch.randn(batch, n, channels, generator=g), dim=-1)
    k = torch.nn.functional.normalize(torch.randn(batch, n, channels, generator=g), dim=-1)
    v = torch.rand(batch, n, 3, generator=g)
    tensors = [x.to(device=device, dtype=dtype).requires_grad_() for x in (q, k, v)]
    return tensors + [labels_a.to(device), labels_t.to(device)]


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _tensor_peak_bytes(fn, externals) -> Optional[int]:
    """Peak bytes of live tensors while ``fn`` runs, beyond ``externals`` (CPU accounting).

    Uses torch's ``MemTracker`` (exact tensor storage accounting, any device);
    None when this torch does not have it.
    """
    try:
        from torch.distributed._tools.mem_tracker import MemTracker
    except ImportError:
        return None
    tracker = MemTracker()
    tracker.track_external(*externals)
    with tracker:
        fn()
    peak = tracker.get_tracker_snapshot('peak')
    total = sum(stats.get('Total', 0) for stats in peak.values())
    return total - sum(x.untyped_storage().nbytes() for x in externals)


def _rss_bytes(field: str) -> Optional[int]:
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_cpu_peak() -> bool:
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, (RuntimeError, MemoryError)) and (
        'out of memory' in text or 'cannot allocate' in text or isinstance(exc, MemoryError))


def estimate_bytes(backend: str, batch: int, n: int, labels: torch.Tensor,
                   chunk_elems: int) -> int:
    """Rough working set of the scores (CPU guard against the kernel's OOM killer)."""
    if backend in ('dense', 'flex'):
        return 6 * batch * n * n * 4
    counts = torch.stack([torch.bincount(row, minlength=NUM_LABELS) for row in labels])
    biggest = int(counts.amax(0).max())
    if backend in ('perlabel', 'varlen'):  # varlen on a CPU: torch's math path per segment
        return 6 * batch * biggest * biggest * 4
    return 4 * max(chunk_elems, batch * biggest) * 4


def run_case(la, backend: str, batch: int, size: int, channels: int, dtype: torch.dtype,
             device: torch.device, repeats: int, chunk_elems: int) -> Dict:
    """Time and peak memory of ``repeats`` forward+backward passes of one backend."""
    q, k, v, labels_a, labels_t = make_inputs(batch, size, channels, dtype, device)
    n = size * size
    if device.type == 'cpu':
        try:
            with open('/proc/meminfo') as f:
                avail = next(int(line.split()[1]) * 1024 for line in f
                             if line.startswith('MemAvailable'))
        except (OSError, StopIteration):
            avail = 0
        need = estimate_bytes(backend, batch, n, labels_t, chunk_elems)
        if avail and need > 0.8 * avail:
            return dict(status='OOM', note=f'estimated {need / 2**30:.1f} GiB > RAM')
    if backend == 'flex' and device.type == 'cpu':
        return dict(status='skip', note='no FlexAttention backward on CPU')
    grad = torch.rand(batch, n, 3, device=device, dtype=dtype)

    def step():
        out = la.label_attention(q, k, v, labels_a, labels_t, 100.0, backend, NUM_LABELS,
                                 chunk_elems)
        out.backward(grad)
        return out

    try:
        t0 = time.perf_counter()
        out = step()  # warm-up (and compilation for flex)
        _sync(device)
        first_s = time.perf_counter() - t0
        out = out.detach().float()
        for x in (q, k, v):
            x.grad = None
        _sync(device)
        gc.collect()
        peak = None
        if device.type == 'cuda':
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
            base = torch.cuda.memory_allocated(device)
        else:
            peak = _tensor_peak_bytes(step, [q, k, v, grad])
            for x in (q, k, v):
                x.grad = None
            tracked = peak is None and _reset_cpu_peak()
            base = _rss_bytes('VmRSS') or 0
        times = []
        for _ in range(repeats):
            _sync(device)
            t0 = time.perf_counter()
            step()
            _sync(device)
            times.append(time.perf_counter() - t0)
            for x in (q, k, v):
                x.grad = None
        if device.type == 'cuda':
            peak = torch.cuda.max_memory_allocated(device) - base
        elif peak is None:
            peak = (_rss_bytes('VmHWM') or 0) - base if tracked else None
    except Exception as exc:  # noqa: BLE001 - every failure becomes a table entry
        if _is_oom(exc):
            return dict(status='OOM')
        return dict(status='error', note=f'{type(exc).__name__}: {str(exc).splitlines()[0]}'
                    if str(exc) else type(exc).__name__)
    times.sort()
    return dict(status='ok', ms=1000 * times[len(times) // 2], first_s=first_s,
                peak_mib=None if peak is None else max(peak, 0) / 2**20, out=out)


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).norm() / b.float().norm().clamp_min(1e-12))


def fmt(value: Optional[float], spec: str) -> str:
    return '-' if value is None or (isinstance(value, float) and math.isnan(value)) \
        else format(value, spec)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--tiny', action='store_true',
                        help='CPU smoke sizes: grids 8 16 32, batch 2, 32 channels')
    parser.add_argument('--grids', type=int, nargs='+', help='grid sides (default 64 128 256)')
    parser.add_argument('--batch', type=int)
    parser.add_argument('--channels', type=int)
    parser.add_argument('--dtypes', nargs='+', default=['fp32', 'bf16'],
                        choices=['fp32', 'bf16', 'fp16'])
    parser.add_argument('--backends', nargs='+',
                        help="default: every backend of label_attention.BACKENDS but 'auto' "
                        '(an alias of varlen on CUDA, blocked elsewhere)')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--chunk-elems', type=int, default=1 << 24,
                        help='scores per chunk of the blocked backend')
    parser.add_argument('--out', help='also write the results as JSON')
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    grids = args.grids or ([8, 16, 32] if args.tiny else [64, 128, 256])
    batch = args.batch or (2 if args.tiny else 4)
    channels = args.channels or (32 if args.tiny else 256)
    dtypes = {'fp32': torch.float32, 'bf16': torch.bfloat16, 'fp16': torch.float16}
    la = load_backends()
    backends = args.backends or [b for b in la.BACKENDS if b != 'auto']

    env = dict(torch=torch.__version__, device=str(device),
               device_name=(torch.cuda.get_device_name(device) if device.type == 'cuda'
                            else 'cpu'),
               batch=batch, channels=channels, chunk_elems=args.chunk_elems,
               memory='peak allocated above the inputs' if device.type == 'cuda'
               else 'peak of live tensors above the inputs (torch MemTracker)')
    print(f"# warping backends: {env['device_name']}, torch {env['torch']}, batch {batch}, "
          f'{channels} channels, {NUM_LABELS} labels, tau 0.01; forward+backward, median of '
          f'{args.repeats}; memory = {env["memory"]}; first call = the untimed warm-up '
          '(compilation for flex; in this process, after the cases before it)')
    print('| grid | dtype | backend | fwd+bwd ms | peak MiB | memory / dense | time / dense '
          '| rel. err. vs dense | first call (s) |')
    print('| --- | --- | --- | --- | --- | --- | --- | --- | --- |')
    rows = []
    for size in grids:
        for dname in args.dtypes:
            results = {}
            for backend in backends:
                results[backend] = run_case(la, backend, batch, size, channels, dtypes[dname],
                                            device, args.repeats, args.chunk_elems)
                gc.collect()  # the case's tensors are gone: give their memory back
                if device.type == 'cuda':
                    torch.cuda.empty_cache()
            ref = results.get('dense', {})
            if ref.get('status') != 'ok':  # compare with any exact backend that ran
                ref = next((r for r in results.values() if r.get('status') == 'ok'), {})
            for backend, res in results.items():
                row = dict(grid=size, dtype=dname, backend=backend, status=res['status'],
                           ms=res.get('ms'), peak_mib=res.get('peak_mib'),
                           first_s=res.get('first_s'), note=res.get('note'))
                dense = results.get('dense', {})
                if res['status'] == 'ok' and dense.get('status') == 'ok':
                    if res.get('peak_mib') is not None and dense.get('peak_mib'):
                        row['mem_vs_dense'] = res['peak_mib'] / dense['peak_mib']
                    row['time_vs_dense'] = res['ms'] / dense['ms']
                if res['status'] == 'ok' and ref.get('status') == 'ok':
                    row['rel_err'] = relative_error(res['out'], ref['out'])
                    row['rel_err_vs'] = next(b for b, r in results.items() if r is ref)
                rows.append(row)
                shown = (fmt(row['ms'], '.2f'), fmt(row['peak_mib'], '.1f'))
                vs = '' if row.get('rel_err_vs', 'dense') == 'dense' else \
                    f" (vs {row['rel_err_vs']})"
                if res['status'] != 'ok':
                    shown = (res['status'] + (f" ({res['note']})" if res.get('note') else ''),
                             res['status'])
                print(f"| {size}x{size} | {dname} | {backend} | {shown[0]} | {shown[1]} | "
                      f"{fmt(row.get('mem_vs_dense'), '.4f')} | "
                      f"{fmt(row.get('time_vs_dense'), '.2f')} | "
                      f"{fmt(row.get('rel_err'), '.1e')}{vs} | "
                      f"{fmt(row.get('first_s'), '.1f')} |", flush=True)

    checks = targets(rows, grids)
    if checks:
        note = '' if device.type == 'cuda' and not args.tiny else \
            ' (defined for the real sizes on a GPU: informative only here)'
        print(f'\n# targets{note}')
        for line in checks:
            print(f'- {line}')
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)) or '.', exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(dict(env=env, rows=rows, targets=checks), f, indent=2)
    return 0


def targets(rows: List[Dict], grids: List[int]) -> List[str]:
    """The issue's targets, on the middle grid (128 for the real sizes) and the largest."""
    out = []
    if len(grids) < 2:
        return out
    mid, big = sorted(grids)[len(grids) // 2], max(grids)
    by = {(r['grid'], r['dtype'], r['backend']): r for r in rows}
    for r in rows:
        if r['backend'] not in FUSED or r['status'] != 'ok':
            continue
        dense = by.get((r['grid'], r['dtype'], 'dense'), {})
        if r['grid'] == mid and 'mem_vs_dense' in r:
            ok = r['mem_vs_dense'] <= 1 / 30 and r['time_vs_dense'] <= 1.0
            out.append(f"{'PASS' if ok else 'FAIL'} {mid}x{mid} {r['dtype']} {r['backend']}: "
                       f"memory {r['mem_vs_dense']:.4f} of dense (<= 0.0333), time "
                       f"{r['time_vs_dense']:.2f}x dense (<= 1)")
        if r['grid'] == big and dense.get('status') == 'OOM':
            out.append(f"PASS {big}x{big} {r['dtype']} {r['backend']}: runs "
                       f"({r['ms']:.1f} ms, {fmt(r['peak_mib'], '.0f')} MiB) where dense is OOM")
        elif r['grid'] == big and dense.get('status') == 'ok':
            out.append(f"INFO {big}x{big} {r['dtype']}: dense also ran on this device; "
                       f"{r['backend']} {r['ms']:.1f} ms vs dense {dense['ms']:.1f} ms")
    return out


if __name__ == '__main__':
    sys.exit(main())
