"""Trivial baselines for the learning tests: a test named "learns" must beat them.

A falling loss is not learning: a model that ignores its inputs and outputs the mean of its
training targets lowers its loss a lot from a random start. Each learning test compares the
trained model with what such trivial models score on the same targets:

* :func:`mean_image`: the per-pixel mean of the targets, the best constant output under L2
  (and near it under L1); what a model that ignores every input converges to.
* :func:`identity_map`: the input returned unchanged (stage 2: the head pasted without
  blending; stage 1 self-reenactment: the driver, which *is* the target in training, so it is a
  ceiling there, not a bar).

Images are tensors ``(N, C, H, W)`` (or broadcastable) in any one value range; pass the range's
width as ``data_range`` to :func:`psnr` (2 for [-1, 1], 255 for uint8).
"""
import contextlib
from typing import Dict

import torch

__all__ = ['mean_image', 'identity_map', 'l1', 'psnr', 'baseline_scores', 'assert_beats',
           'torch_threads']


def mean_image(targets: torch.Tensor) -> torch.Tensor:
    """The per-pixel mean of ``targets``, repeated for each target: ``(N, C, H, W)``."""
    targets = targets.float()
    return targets.mean(0, keepdim=True).expand_as(targets)


def identity_map(inputs: torch.Tensor) -> torch.Tensor:
    """The input unchanged (a model that learned to do nothing)."""
    return inputs.float()


def l1(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Mean absolute error over every element."""
    return float((pred.float() - target.float()).abs().mean())


def psnr(pred: torch.Tensor, target: torch.Tensor, data_range: float = 2.0) -> float:
    """PSNR in dB of the whole batch (one MSE over every element)."""
    mse = float(((pred.float() - target.float()) ** 2).mean())
    if mse == 0:
        return float('inf')
    return 10 * torch.log10(torch.tensor(data_range ** 2 / mse)).item()


def baseline_scores(targets: torch.Tensor, inputs: torch.Tensor = None,
                    data_range: float = 2.0) -> Dict[str, Dict[str, float]]:
    """``{baseline: {'l1': ..., 'psnr': ...}}`` of the mean image (and the identity map of
    ``inputs`` when given) against ``targets``."""
    preds = {'mean image': mean_image(targets)}
    if inputs is not None:
        preds['identity map'] = identity_map(inputs)
    return {name: dict(l1=l1(p, targets), psnr=psnr(p, targets, data_range))
            for name, p in preds.items()}


def assert_beats(pred: torch.Tensor, targets: torch.Tensor, inputs: torch.Tensor = None,
                 data_range: float = 2.0, margin: float = 1.0) -> Dict[str, float]:
    """Assert ``pred``'s L1 to ``targets`` is below ``margin`` x every baseline's L1.

    Returns the scores (``model`` and each baseline's L1) for messages and further checks.
    """
    scores = {'model': l1(pred, targets)}
    scores.update({k: v['l1'] for k, v in baseline_scores(targets, inputs, data_range).items()})
    for name, value in scores.items():
        if name != 'model':
            assert scores['model'] < margin * value, (
                f'L1 {scores["model"]:.4f} does not beat the {name} baseline '
                f'({value:.4f} x margin {margin}): {scores}')
    return scores


@contextlib.contextmanager
def torch_threads(n: int = 1):
    """Run the block with ``n`` torch CPU threads (restored after). Tiny models train no slower
    on one thread, and on a busy 2-core machine two threads per process can be 10x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
