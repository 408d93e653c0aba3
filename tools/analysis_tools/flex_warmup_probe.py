"""Where the flex warping backend's warm-up goes: successive calls of one process, timed.

    python tools/analysis_tools/flex_warmup_probe.py [--grid 128] [--batch 4] [--channels 256]

The ``flex`` backend of :func:`headswap.models.warping.label_attention` compiles
FlexAttention (and its block mask) with ``torch.compile`` on first use. This times, in one
process and in order: a forward pass, a second forward with other labels (a new label
layout must not recompile), a first forward+backward (grad mode is a new compilation), a
second one, the same at batch 1 (``dynamic=False``: a new batch size recompiles), and batch
``--batch`` again. Run it with ``TORCH_LOGS=recompiles`` to see why each recompilation
happened. CUDA only (FlexAttention has no backward on a CPU); ``--forward-only`` runs the
forward calls on a CPU too (uncompiled there).
"""
import argparse
import os.path as osp
import sys
import time

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from benchmark_warping import NUM_LABELS, make_inputs  # noqa: E402  (its face layouts)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--grid', type=int, default=128, help='side of the warping grid')
    p.add_argument('--batch', type=int, default=4)
    p.add_argument('--channels', type=int, default=256)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--forward-only', action='store_true')
    args = p.parse_args(argv)
    from headswap.models.warping.label_attention import label_attention
    device = torch.device(args.device)
    if device.type != 'cuda' and not args.forward_only:
        print('flex_warmup_probe.py: FlexAttention has no backward on a CPU; use a GPU or '
              '--forward-only', file=sys.stderr)
        return 2
    dtype = torch.bfloat16 if device.type == 'cuda' else torch.float32
    calls = [(args.batch, False, 'first forward'), (args.batch, False, 'forward, other labels')]
    if not args.forward_only:
        calls += [(args.batch, True, 'first forward+backward'),
                  (args.batch, True, 'forward+backward, other labels'),
                  (1, True, 'forward+backward, batch 1'),
                  (args.batch, True, f'forward+backward, batch {args.batch} again')]
    print(f'| call | batch | seconds |  ({args.grid}x{args.grid} grid, {args.channels} channels, '
          f'{dtype}, {device}, torch {torch.__version__})')
    print('| --- | --- | --- |')
    for i, (batch, grad, what) in enumerate(calls):
        q, k, v, ql, kl = make_inputs(batch, args.grid, args.channels, dtype, device, seed=2 * i)
        if device.type == 'cuda':
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.set_grad_enabled(grad):
            out = label_attention(q, k, v, ql, kl, 100.0, 'flex', NUM_LABELS, 1 << 24)
            if grad:
                out.sum().backward()
        if device.type == 'cuda':
            torch.cuda.synchronize()
        print(f'| {what} | {batch} | {time.perf_counter() - t0:.2f} |', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
