"""CUDA graphs of the aligner's training passes (single-GPU training at small batch).

At 512x512 and one sample per GPU, a training iteration of the aligner is bound by the
host: some 15 000 small kernels are launched per iteration (VGG-19, IResNet-100 and the
spectral-norm D run forward and backward several times), so the GPU waits on Python, and
a faster precision (bf16) buys nothing. :class:`GraphedPasses` records each of the three
passes of an iteration once as a CUDA graph (forward and backward, with
:func:`torch.cuda.make_graphed_callables`) and replays it afterwards, so that each pass
costs a few launches:

* ``generator``: sources and (augmented) driver -> ``I_A, M_A`` (E_por, E_id, E_pose,
  E_exp, the AdaIN MLP and G);
* ``discriminator``: ``real, I_A.detach()`` -> the D hinge loss (eq. 4) and D's logit
  means, backward into D's weights;
* ``generator_losses``: ``real, I_A, M_A[, gt_mask]`` -> the G losses (eqs. 1-3, 5, mask)
  through the frozen VGG-19 / ArcFace and D used as a fixed function, backward into
  ``I_A`` and ``M_A`` (and from there, through the first graph, into G's weights).

What stays eager: data preprocessing and the driver's random identity-hiding augmentation
(its random parameters are drawn on the host), the optimizer steps with the non-finite
gradient check, the EMA and the logging. A graph is recorded per input shape (so K may
vary between batches: one recording per K), per autocast dtype and per train/eval state
of the modules in it; recording runs the pass a few times eagerly first (cuDNN's
autotuning) and restores the BatchNorm statistics and spectral-norm vectors those
warm-up runs moved, so a graphed run follows the same trajectory as an eager one.

Limits (each raises a clear error): CUDA tensors only; no DDP-wrapped parts (graph capture
of DDP's gradient all-reduce hooks is not supported). On several GPUs use
``model_wrapper_cfg = dict(type='headswap.GradientSyncDataParallel')``
(:mod:`headswap.engine.model_wrappers.gradient_sync`): no part is wrapped, the graphs
replay each rank's backward, and the gradients are all-reduced eagerly afterwards, before
the optimizer steps. No gradient accumulation (graphed backward passes hand out their
gradient buffers, which the next replay overwrites).
"""
import contextlib
import warnings
from typing import Callable, Dict, Hashable, Iterator, Tuple

import torch
import torch.nn as nn
from mmengine.model import is_model_wrapper

__all__ = ['GraphedPasses', 'graphs_usable']


def _autocast_state(device_type: str = 'cuda') -> Tuple[bool, torch.dtype]:
    return torch.is_autocast_enabled(device_type), torch.get_autocast_dtype(device_type)


@contextlib.contextmanager
def _without_autocast_cache() -> Iterator[None]:
    """The enclosing autocast, minus its weight-cast cache (graphs cannot use it)."""
    enabled, dtype = _autocast_state()
    if not enabled:
        yield
        return
    with torch.autocast('cuda', dtype=dtype, cache_enabled=False):
        yield


class _Pass(nn.Module):
    """One pass of a training iteration as a module, for ``make_graphed_callables``.

    The modules whose parameters may receive gradients from this pass are registered
    (so that ``parameters()`` lists them); the function itself runs ``fn``. Instances
    are private to :class:`GraphedPasses` and never registered in the aligner, so
    checkpoints are unchanged.
    """

    def __init__(self, fn: Callable, modules: Dict[str, nn.Module]):
        super().__init__()
        self._fn = fn
        for name, module in modules.items():
            self.add_module(name, module)

    def forward(self, *args):
        return self._fn(*args)


class GraphedPasses:
    """Records and replays the CUDA graphs of named training passes.

    Args:
        warmup_iters: Eager runs of a pass before it is recorded (cuDNN autotuning and
            lazy initialisation must not end up in the graph).
    """

    def __init__(self, warmup_iters: int = 3):
        self.warmup_iters = warmup_iters
        self._graphed: Dict[Hashable, nn.Module] = {}

    @property
    def recordings(self) -> int:
        """How many passes have been recorded (one per name and key)."""
        return len(self._graphed)

    def run(self, name: str, fn: Callable, modules: Dict[str, nn.Module],
            args: Tuple[torch.Tensor, ...]):
        """Run ``fn(*args)`` through its graph, recording it on first use for this key.

        ``modules``: the modules ``fn`` uses whose parameters may get gradients from it;
        modules used as fixed functions (their parameters frozen inside ``fn``) must be
        left out. Returns what ``fn`` returns (tensors; tuples and dicts of them).
        """
        for a in args:
            if not a.is_cuda:
                raise ValueError(f'CUDA graphs need CUDA tensors; the {name} pass got a '
                                 f'{a.device} tensor')
        key = (name, tuple((tuple(a.shape), a.dtype, a.requires_grad) for a in args),
               _autocast_state(), tuple((n, m.training) for n, m in modules.items()))
        graphed = self._graphed.get(key)
        with _without_autocast_cache():
            if graphed is None:
                graphed = self._record(fn, modules, args)
                self._graphed[key] = graphed
            return graphed(*args)

    def _record(self, fn: Callable, modules: Dict[str, nn.Module],
                args: Tuple[torch.Tensor, ...]) -> nn.Module:
        module = _Pass(fn, modules)
        static = tuple(a.detach().clone().requires_grad_(a.requires_grad) for a in args)
        # the warm-up runs step BatchNorm statistics and spectral-norm power iterations;
        # put them back so that recording leaves no trace in the training state
        buffers = list(module.buffers())
        saved = [b.detach().clone() for b in buffers]
        graphed = torch.cuda.make_graphed_callables(
            module, static, num_warmup_iters=self.warmup_iters, allow_unused_input=True)
        with torch.no_grad():
            for b, s in zip(buffers, saved):
                b.copy_(s)
        return graphed


def graphs_usable(model, real: torch.Tensor, g_wrapper, d_wrapper) -> bool:
    """Whether this iteration of ``model`` (an aligner with ``cuda_graphs``) replays CUDA
    graphs; errors for setups they cannot serve (DDP-wrapped parts, gradient accumulation),
    one warning and eager training on a CPU."""
    if model.cuda_graphs is None:
        return False
    wrapped = [n for n in (*model.generator_modules, 'discriminator')
               if is_model_wrapper(getattr(model, n))]
    if wrapped:
        raise RuntimeError(f'model.cuda_graphs=True cannot record DDP-wrapped parts '
                           f'({", ".join(wrapped)}): for several GPUs set model_wrapper_cfg = '
                           "dict(type='headswap.GradientSyncDataParallel') (all-reduces the "
                           'gradients after backward, without DDP)')
    for name, wrapper in (('generator', g_wrapper), ('discriminator', d_wrapper)):
        if getattr(wrapper, '_accumulative_counts', 1) != 1:
            raise ValueError(f'model.cuda_graphs=True does not support gradient '
                             f'accumulation (optim_wrapper.{name}.accumulative_counts='
                             f'{wrapper._accumulative_counts}): graphed backward passes '
                             'reuse their gradient buffers')
    if not real.is_cuda:
        if not model._warned_cpu_graphs:
            warnings.warn(f'{type(model).__name__}(cuda_graphs=True) on {real.device.type}: '
                          'CUDA graphs need a GPU, training eagerly')
            model._warned_cpu_graphs = True
        return False
    return True
