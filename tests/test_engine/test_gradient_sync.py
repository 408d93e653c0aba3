"""GradientSyncDataParallel: two gloo processes with different data on each rank.

One spawn of two processes runs every distributed check (starting processes costs more
than the checks): the toy gradient reduce, then the tiny aligner trained for a few steps
under GradientSyncDataParallel, under SeparateDistributedDataParallel (DDP) from the same
start and data, and under GradientSyncDataParallel with its sync removed (the control:
the ranks' data differ enough to pull them apart).
"""
import copy
import os
import socket
from datetime import timedelta

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.model import is_model_wrapper

from headswap.engine.model_wrappers import (GradientAllReduce, GradientSyncDataParallel,
                                            SeparateDistributedDataParallel)
from headswap.registry import MODEL_WRAPPERS, MODELS
from tests.synthetic_head2head import SyntheticHead2HeadDataset
from tests.test_models.test_aligners.test_head2head_aligner import optim_for

TINY = 'configs/head2head/head2head_aligner_tiny_1xb2-1k_sample-32.py'
STEPS = 3
RUNS = ('sync', 'ddp', 'no_sync')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _toy_reduce(rank: int) -> dict:
    """Gradients present on both ranks, on one rank only, on none; two dtypes."""
    torch.manual_seed(0)
    lin, wide = nn.Linear(3, 2), nn.Linear(3, 2).double()
    only_rank1, unused = nn.Parameter(torch.ones(2)), nn.Parameter(torch.ones(2))
    frozen = nn.Parameter(torch.ones(2), requires_grad=False)
    params = [*lin.parameters(), *wide.parameters(), only_rank1, unused, frozen]

    def loss(r):
        x = torch.arange(12.0).reshape(4, 3) * (r + 1)
        return lin(x).square().mean() + wide(x.double()).sum().float()

    expected = []
    for r in (0, 1):  # what the average over both ranks' batches must be
        for p in params:
            p.grad = None
        loss(r).backward()
        expected.append([p.grad.clone() for p in (*lin.parameters(), *wide.parameters())])
    expected = [(a + b) / 2 for a, b in zip(*expected)]
    out = {}
    for cap in (None, 1e-5):  # one buffer per dtype; one per parameter
        for p in params:
            p.grad = None
        (loss(rank) + (3 * only_rank1.sum() if rank == 1 else 0)).backward()
        GradientAllReduce(bucket_cap_mb=cap)(params)
        out[cap] = dict(dense=[p.grad for p in (*lin.parameters(), *wide.parameters())],
                        expected=expected, only_rank1=only_rank1.grad,
                        unused=unused.grad, frozen=frozen.grad)
    return out


def _batch(rank: int, step: int) -> dict:
    """Two samples, different on each rank and at each step."""
    np.random.seed(10 * rank + step)
    ds = SyntheticHead2HeadDataset(num_identities=2, frames=4, num_sources=2, size=32)
    return pseudo_collate([ds[(4 * rank + 2 * step + i) % 8] for i in range(2)])


def _train(cfg, run: str, rank: int) -> dict:
    # GradientSync: rank 1 starts elsewhere (frozen networks included); the broadcast
    # must bring it to rank 0's start, which is the DDP run's start on every rank
    torch.manual_seed(rank if run != 'ddp' else 0)
    model = MODELS.build(copy.deepcopy(cfg.model)).train()
    if run == 'ddp':
        wrapped = SeparateDistributedDataParallel(model)
    else:
        wrapped = GradientSyncDataParallel(module=model, broadcast_buffers=False,
                                           find_unused_parameters=False)
        if run == 'no_sync':
            model.grad_sync = None
    optim = optim_for(cfg, wrapped)
    data = [_batch(rank, step) for step in range(STEPS)]
    torch.manual_seed(100 + rank)  # the driver augmentation's draws
    for d in data:
        wrapped.train_step(d, optim)
    names = [n for n, _ in model.named_parameters()] if run != 'ddp' else None
    return dict(state={k: v.detach().clone() for k, v in model.state_dict().items()},
                params=names)


def _worker(rank: int, world: int, port: int, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=world, timeout=timedelta(seconds=60))
    try:
        import headswap.engine  # noqa: F401  (the optimizer constructor)
        cfg = Config.fromfile(TINY)
        # SGD, not Adam: an Adam step hardly depends on the gradients' scale, so a sum
        # instead of the average would pass unseen; with SGD an update is the gradient
        for part in ('generator', 'discriminator'):
            cfg.optim_wrapper[part].optimizer = dict(type='SGD', lr=0.01)
        results = dict(toy=_toy_reduce(rank))
        for run in RUNS:
            results[run] = _train(cfg, run, rank)
        torch.save(results, os.path.join(out_dir, f'rank{rank}.pt'))
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope='module')
def ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp('gsync')
    mp.spawn(_worker, args=(2, _free_port(), str(out)), nprocs=2, join=True)
    return [torch.load(out / f'rank{r}.pt', weights_only=False) for r in (0, 1)]


@pytest.mark.parametrize('cap', [None, 1e-5])
def test_reduce_averages_and_keeps_missing_gradients_consistent(ranks, cap):
    for rank in ranks:
        toy = rank['toy'][cap]
        for got, want in zip(toy['dense'], toy['expected']):
            torch.testing.assert_close(got, want)
        # present on rank 1 only: sum / world size on both ranks (DDP's average)
        torch.testing.assert_close(toy['only_rank1'], torch.full((2, ), 1.5))
        assert toy['unused'] is None and toy['frozen'] is None  # as on one process


def test_ranks_end_equal_and_follow_ddp(ranks):
    """Different data on each rank: the synced ranks hold the same weights after the steps,
    those of DDP (which averages the same gradients); without the sync they drift apart."""
    params = ranks[0]['sync']['params']
    assert params and ranks[0]['sync']['state'].keys() == ranks[0]['ddp']['state'].keys()
    for name in params:
        assert torch.equal(ranks[0]['sync']['state'][name], ranks[1]['sync']['state'][name]), \
            name
        for rank in ranks:
            torch.testing.assert_close(rank['sync']['state'][name], rank['ddp']['state'][name],
                                       rtol=1e-5, atol=1e-6, msg=name)
    drift = [n for n in params
             if not torch.equal(ranks[0]['no_sync']['state'][n], ranks[1]['no_sync']['state'][n])]
    assert len(drift) > len(params) // 2


def test_is_a_model_wrapper_and_refuses_what_it_cannot_serve():
    cls = MODEL_WRAPPERS.get('headswap.GradientSyncDataParallel')
    assert cls is GradientSyncDataParallel
    wrapper = object.__new__(cls)
    nn.Module.__init__(wrapper)
    assert is_model_wrapper(wrapper)  # the Runner and hooks use .module
    with pytest.raises(TypeError, match='Linear does not: use headswap.Distributed'):
        GradientSyncDataParallel(nn.Linear(2, 2))

    class WithSync(nn.Linear):
        grad_sync = None

    with pytest.raises(ValueError, match=r'broadcast_buffers=True\) is not supported'):
        GradientSyncDataParallel(WithSync(2, 2), broadcast_buffers=True)
    with pytest.raises(RuntimeError, match='needs an initialised process group'):
        GradientSyncDataParallel(WithSync(2, 2))
