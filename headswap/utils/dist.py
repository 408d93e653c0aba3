"""Starting torch.distributed for the tools, on GPUs (NCCL) and on CPUs (gloo).

mmengine's ``init_dist`` calls ``torch.cuda.set_device`` and so cannot start a
CPU-only run. :func:`init_distributed` starts a gloo process group itself when
no GPU is visible (the Runner then finds the group already initialised), and
leaves GPU runs to mmengine.
"""
import os
import subprocess
from datetime import timedelta

import torch
import torch.distributed as torch_dist

__all__ = ['init_distributed', 'cuda_is_usable', 'shutdown_distributed']


def cuda_is_usable() -> bool:
    """Whether CUDA devices can be used by this process."""
    return torch.cuda.is_available() and torch.cuda.device_count() > 0


def _env_from_slurm(port: str) -> None:
    proc_id = int(os.environ['SLURM_PROCID'])
    ntasks = int(os.environ['SLURM_NTASKS'])
    node_list = os.environ['SLURM_NODELIST']
    if 'MASTER_ADDR' not in os.environ:
        addr = subprocess.getoutput(f'scontrol show hostname {node_list} | head -n1')
        os.environ['MASTER_ADDR'] = addr
    os.environ.setdefault('MASTER_PORT', port)
    os.environ['WORLD_SIZE'] = str(ntasks)
    os.environ['RANK'] = str(proc_id)
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')


def _env_from_mpi(port: str) -> None:
    os.environ['RANK'] = os.environ['OMPI_COMM_WORLD_RANK']
    os.environ['WORLD_SIZE'] = os.environ['OMPI_COMM_WORLD_SIZE']
    os.environ['LOCAL_RANK'] = os.environ.get('OMPI_COMM_WORLD_LOCAL_RANK', '0')
    os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
    os.environ.setdefault('MASTER_PORT', port)


def init_distributed(launcher: str, timeout_s: int = 1800, port: str = '29500') -> bool:
    """Start the process group for ``launcher`` when no GPU is usable.

    Args:
        launcher: ``'none'``, ``'pytorch'`` (torchrun), ``'slurm'`` or ``'mpi'``.
        timeout_s: Collective timeout in seconds.
        port: Master port when the launcher does not set one.

    Returns:
        True if this function started a (gloo) process group; False when there
        is nothing to do (no launcher, already started, or GPUs present, where
        mmengine's ``init_dist`` starts NCCL with ``env_cfg.dist_cfg``).
    """
    if launcher == 'none' or torch_dist.is_initialized() or cuda_is_usable():
        return False
    if launcher == 'slurm':
        _env_from_slurm(port)
    elif launcher == 'mpi':
        _env_from_mpi(port)
    elif launcher != 'pytorch':
        raise ValueError(f'unknown launcher {launcher!r}: use none, pytorch, slurm or mpi')
    torch_dist.init_process_group(
        backend='gloo', init_method='env://', timeout=timedelta(seconds=timeout_s))
    return True


def shutdown_distributed(synchronize: bool = True) -> None:
    """Destroy the default process group, if one was started.

    Left to the interpreter's exit, gloo's worker threads can abort a finished
    run ("terminate called without an active exception", exit code -6). Callers
    drop their Runner first: its DDP wrappers hold the group, which would then
    outlive this call; the collection here frees them before the group goes.
    ``synchronize``: wait for every rank first (only after a run that finished:
    after an error another rank may never arrive).
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        import gc
        gc.collect()
        if synchronize:  # no rank tears the group down while another still uses it
            torch_dist.barrier()
        torch_dist.destroy_process_group()
