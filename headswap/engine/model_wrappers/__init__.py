from .distributed import DistributedDataParallelWrapper, SeparateDistributedDataParallel

__all__ = ['DistributedDataParallelWrapper', 'SeparateDistributedDataParallel']
