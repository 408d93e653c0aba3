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


def blocky_labels(batch: int, side: int, seed: int, num_labels: int, device) -> torch.Tensor:
    """Parsing-like label maps: random labels on 16x16-pixel blocks, flattened."""
    g = torch.Generator().manual_seed(seed)
    low = torch.randint(0, num_labels, (batch, 1, max(side // 16, 1), max(side // 16, 1)),
                        generator=g).float()
    return torch.nn.functional.interpolate(low, size=(side, side), mode='nearest').long() \
        .flatten(1).to(device)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--grid', type=int, default=128, help='side of the warping grid')
    p.add_argument('--batch', type=int, default=4)
    p.add_argument('--channels', type=int, default=256)
    p.add_argument('--labels', type=int, default=19)
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
    n = args.grid * args.grid
    print(f'| call | batch | seconds |  ({args.grid}x{args.grid} grid, {args.channels} channels, '
          f'{dtype}, {device}, torch {torch.__version__})')
    print('| --- | --- | --- |')
    for i, (batch, grad, what) in enumerate(calls):
        def unit(seed):
            g = torch.Generator().manual_seed(seed)
            x = torch.randn(batch, n, args.channels, generator=g)
            return torch.nn.functional.normalize(x, dim=-1).to(device, dtype).requires_grad_(grad)
        q, k = unit(2 * i), unit(2 * i + 1)
        v = torch.randn(batch, n, 3, device=device)
        ql = blocky_labels(batch, args.grid, i, args.labels, device)
        kl = blocky_labels(batch, args.grid, 100 + i, args.labels, device)
        if device.type == 'cuda':
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.set_grad_enabled(grad):
            out = label_attention(q, k, v, ql, kl, 100.0, 'flex', args.labels, 1 << 24)
            if grad:
                out.sum().backward()
        if device.type == 'cuda':
            torch.cuda.synchronize()
        print(f'| {what} | {batch} | {time.perf_counter() - t0:.2f} |', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
