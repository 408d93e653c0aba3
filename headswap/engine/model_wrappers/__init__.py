from .distributed import DistributedDataParallelWrapper, SeparateDistributedDataParallel
from .gradient_sync import GradientAllReduce, GradientSyncDataParallel, broadcast_coalesced

__all__ = ['DistributedDataParallelWrapper', 'SeparateDistributedDataParallel',
           'GradientSyncDataParallel', 'GradientAllReduce', 'broadcast_coalesced']
