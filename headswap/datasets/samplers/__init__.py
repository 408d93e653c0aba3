from .kshot_batch_sampler import KShotBatchSampler
from .resumable_infinite_sampler import ResumableInfiniteSampler

__all__ = ['ResumableInfiniteSampler', 'KShotBatchSampler']
