import itertools
from typing import Iterator

from mmengine.dataset import InfiniteSampler

from headswap.registry import DATA_SAMPLERS

__all__ = ['ResumableInfiniteSampler']


@DATA_SAMPLERS.register_module()
class ResumableInfiniteSampler(InfiniteSampler):
    """:class:`mmengine.dataset.InfiniteSampler` that can skip ahead cheaply.

    The index stream is a pure function of ``seed``, ``rank`` and
    ``world_size``, so skipping ``n`` indices reproduces exactly what an
    uninterrupted run would yield next, without loading those samples.
    """

    def skip(self, num_samples: int) -> None:
        """Start the next iteration ``num_samples`` indices (of this rank) in."""
        self.indices = itertools.islice(self._indices_of_rank(), num_samples, None)

    def __iter__(self) -> Iterator[int]:
        yield from self.indices
