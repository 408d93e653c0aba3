from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np
from torch.utils.data import BatchSampler, Sampler

from headswap.registry import DATA_SAMPLERS

__all__ = ['KShotBatchSampler']


@DATA_SAMPLERS.register_module()
class KShotBatchSampler(BatchSampler):
    """Batches of ``(index, K)`` with one number of source shots K per batch.

    Stage 1 stacks the K source images of a batch into ``(B, K, 3, H, W)``, so
    K must be uniform within a batch but may change between batches (few-shot
    training with K in, e.g., {1, 2, 4, 8}). :class:`Head2HeadDataset`
    accepts ``(index, K)``.

    K is a function of the sampler's seed and the batch's indices, not of a
    running generator: a resumed run (``ResumableInfiniteSampler.skip``) and
    data-loader prefetching see exactly the K an uninterrupted run saw.

    In a config: ``train_dataloader = dict(batch_sampler=dict(type='KShotBatchSampler'),
    sampler=dict(type='ResumableInfiniteSampler', shuffle=True), ...)``.

    Args:
        sampler: Yields dataset indices (``batch_size`` is given by the Runner).
        batch_size: Samples per batch.
        num_sources: The choices of K; None takes the dataset's
            ``num_sources`` choices (``sampler.dataset.source_choices``).
        drop_last: Drop a last incomplete batch (finite samplers only).
        seed: Seed of the K choice; None takes ``sampler.seed`` (0 if absent).
    """

    def __init__(self, sampler: Sampler, batch_size: int,
                 num_sources: Optional[Sequence[int]] = None, drop_last: bool = True,
                 seed: Optional[int] = None):
        super().__init__(sampler, batch_size, drop_last)
        if num_sources is None:
            dataset = getattr(sampler, 'dataset', None)
            num_sources = getattr(dataset, 'source_choices', None)
            if num_sources is None:
                raise ValueError('KShotBatchSampler needs num_sources, or a sampler whose '
                                 'dataset has source_choices (Head2HeadDataset)')
        self.choices = [int(k) for k in num_sources]
        if not self.choices or min(self.choices) < 1:
            raise ValueError(f'num_sources must list K >= 1, got {num_sources}')
        self.seed = int(seed if seed is not None else getattr(sampler, 'seed', 0) or 0)

    def num_sources_for(self, batch: Sequence[int]) -> int:
        """The K of a batch of indices."""
        rng = np.random.default_rng([self.seed % (2 ** 32), *[int(i) for i in batch]])
        return self.choices[int(rng.integers(len(self.choices)))]

    def __iter__(self) -> Iterator[List[Tuple[int, int]]]:
        batch: List[int] = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                k = self.num_sources_for(batch)
                yield [(i, k) for i in batch]
                batch = []
        if batch and not self.drop_last:
            k = self.num_sources_for(batch)
            yield [(i, k) for i in batch]
