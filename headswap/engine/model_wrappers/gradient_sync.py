"""Data-parallel training without DDP: gradients all-reduced explicitly after each backward.

Why: DDP averages gradients from autograd hooks while the backward pass runs, and graph
capture of those hooks is not supported, so the aligner's CUDA graphs
(:mod:`headswap.models.aligners.cuda_graphs`) refuse DDP-wrapped parts. Here no part is
wrapped: the graphed (or eager) backward fills each rank's own gradients, and
:class:`GradientAllReduce` then averages them eagerly, after ``backward`` and before the
non-finite check and the optimizer step (:meth:`TwoPlayerGAN._update
<headswap.models.base_models.TwoPlayerGAN._update>` calls it through ``model.grad_sync``).

What differs from (Separate)DDP:

* communication does not overlap the backward pass: one coalesced all-reduce per
  optimizer step and dtype (or per ``bucket_cap_mb`` of gradients), after it;
* with gradient accumulation the gradients are reduced once, before the step that
  applies them (DDP's ``no_sync`` behaviour);
* buffers (spectral-norm vectors, running statistics) are broadcast from rank 0 once, at
  construction, and then each rank keeps its own, as with the default
  ``SeparateDistributedDataParallel(broadcast_buffers=False)``;
* every parameter and buffer is broadcast at construction, frozen networks included
  (SeparateDDP leaves those unwrapped and so unbroadcast).

Missing gradients: a trainable parameter may get no gradient on one rank and one on
another. Every rank therefore reduces the same list (the optimizer's parameters that
require gradients; zeros stand in for a missing gradient) plus a count of the ranks that had
one. A parameter that had a gradient on some rank gets the average (sum / world size, as
DDP with ``find_unused_parameters``); one that had none on any rank keeps ``grad=None``, so
the optimizer skips it as on one GPU. Reading those counts costs a device sync, paid only
on a rank that is missing a gradient.
"""
from typing import Iterable, List, Optional, Sequence

import torch
import torch.distributed as dist
import torch.nn as nn
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

from headswap.registry import MODEL_WRAPPERS

__all__ = ['GradientSyncDataParallel', 'GradientAllReduce', 'broadcast_coalesced']


def _buckets(tensors: Sequence[torch.Tensor], cap_bytes: Optional[int]
             ) -> List[List[torch.Tensor]]:
    """``tensors`` grouped by device and dtype, each group cut at ``cap_bytes`` (None: no cut)."""
    groups: dict = {}
    for t in tensors:
        groups.setdefault((t.device, t.dtype), []).append(t)
    buckets = []
    for group in groups.values():
        bucket, size = [], 0
        for t in group:
            nbytes = t.numel() * t.element_size()
            if bucket and cap_bytes is not None and size + nbytes > cap_bytes:
                buckets.append(bucket)
                bucket, size = [], 0
            bucket.append(t)
            size += nbytes
        buckets.append(bucket)
    return buckets


@torch.no_grad()
def broadcast_coalesced(tensors: Iterable[torch.Tensor], src: int = 0,
                        bucket_cap_mb: Optional[float] = None) -> None:
    """Overwrite ``tensors`` in place with rank ``src``'s values (one broadcast per bucket)."""
    cap = None if bucket_cap_mb is None else int(bucket_cap_mb * 2**20)
    unique = list({id(t): t for t in tensors}.values())
    for bucket in _buckets(unique, cap):
        flat = _flatten_dense_tensors([t.detach() for t in bucket])
        dist.broadcast(flat, src)
        for t, value in zip(bucket, _unflatten_dense_tensors(flat, bucket)):
            t.copy_(value)


class GradientAllReduce:
    """Averages the gradients of the given parameters over all ranks (module docstring).

    Every rank must call it at the same point with the same parameters (the same
    optimizer's); parameters that do not require gradients are left out on every rank.

    Args:
        bucket_cap_mb: Largest gradient buffer reduced at once; None: one buffer per
            device and dtype (fewest collectives, one flat copy of the gradients).
    """

    def __init__(self, bucket_cap_mb: Optional[float] = None):
        self.cap = None if bucket_cap_mb is None else int(bucket_cap_mb * 2**20)

    @torch.no_grad()
    def __call__(self, params: Iterable[torch.Tensor]) -> None:
        world = dist.get_world_size()
        if world == 1:
            return
        params = [p for p in {id(p): p for p in params}.values() if p.requires_grad]
        for p in params:
            if p.grad is not None and p.grad.is_sparse:
                raise ValueError('GradientAllReduce averages dense gradients only; got a '
                                 f'sparse one of shape {tuple(p.shape)}')
        for bucket in _buckets(params, self.cap):
            self._reduce(bucket, world)

    @staticmethod
    def _reduce(bucket: List[torch.Tensor], world: int) -> None:
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in bucket]
        had = torch.tensor([p.grad is not None for p in bucket], dtype=bucket[0].dtype,
                           device=bucket[0].device)
        flat = _flatten_dense_tensors(grads + [had])
        flat.div_(world)  # before the sum, as DDP: no overflow of low-precision gradients
        dist.all_reduce(flat)
        *means, counts = _unflatten_dense_tensors(flat, grads + [had])
        missing = [i for i, p in enumerate(bucket) if p.grad is None]
        elsewhere = counts[missing].gt(0).tolist() if missing else []  # host sync
        for p, mean in zip(bucket, means):
            if p.grad is not None:
                p.grad.copy_(mean)
        for i, used in zip(missing, elsewhere):
            if used:
                bucket[i].grad = means[i].clone()


@MODEL_WRAPPERS.register_module()
class GradientSyncDataParallel(nn.Module):
    """Data parallelism for the GAN stages that CUDA graphs can replay (module docstring).

    Use it with ``model_wrapper_cfg = dict(type='headswap.GradientSyncDataParallel')``;
    needed for ``model.cuda_graphs=True`` on several GPUs. Checkpoints hold the model's own
    keys (the Runner saves ``model.module.state_dict()``), as on one GPU.

    Args:
        module: A model whose updates call ``self.grad_sync`` after backward
            (:class:`~headswap.models.base_models.TwoPlayerGAN`: aligner and blender).
        device_ids, output_device, find_unused_parameters: Accepted for configs written
            for DDP; nothing to do here (the Runner has placed the module; there is no
            reducer that could wait for unused parameters).
        broadcast_buffers: Must be False: buffers are broadcast once, at construction.
        bucket_cap_mb: See :class:`GradientAllReduce` (also caps the broadcast at
            construction).
    """

    def __init__(self, module: nn.Module, device_ids: Optional[Sequence[int]] = None,
                 output_device: Optional[int] = None, broadcast_buffers: bool = False,
                 find_unused_parameters: bool = False,
                 bucket_cap_mb: Optional[float] = None):
        super().__init__()
        if not hasattr(module, 'grad_sync'):
            raise TypeError(f'GradientSyncDataParallel needs a model whose updates call '
                            f'self.grad_sync (a TwoPlayerGAN); {type(module).__name__} does '
                            'not: use headswap.DistributedDataParallelWrapper')
        if broadcast_buffers:
            raise ValueError('GradientSyncDataParallel(broadcast_buffers=True) is not '
                             'supported: buffers are broadcast once, at construction')
        if not (dist.is_available() and dist.is_initialized()):
            raise RuntimeError('GradientSyncDataParallel needs an initialised process group '
                               '(start with tools/dist_train.sh)')
        self.module = module
        broadcast_coalesced([*module.parameters(), *module.buffers()], 0, bucket_cap_mb)
        module.grad_sync = GradientAllReduce(bucket_cap_mb)

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def train_step(self, data, optim_wrapper) -> dict:
        """The module's ``train_step``; its updates reduce the gradients."""
        return self.module.train_step(data, optim_wrapper)

    def val_step(self, data) -> list:
        return self.module.val_step(data)

    def test_step(self, data) -> list:
        return self.module.test_step(data)
