from typing import List, Sequence, Tuple, Union

import numpy as np
from mmengine.logging import print_log

from headswap.registry import DATASETS
from .talking_head_dataset import TalkingHeadDataset

__all__ = ['Head2HeadDataset']

_SCOPES = ('clip', 'video', 'identity', 'other_videos')


@DATASETS.register_module()
class Head2HeadDataset(TalkingHeadDataset):
    """Stage 1 samples: a target frame of an identity and K source frames of it.

    Each frame is a target once per epoch; its K sources are drawn without
    replacement from the ``source_scope`` of the target:

    * ``'clip'``: other frames of the same clip;
    * ``'video'``: frames of the same video (any clip);
    * ``'identity'``: any frame of the identity;
    * ``'other_videos'``: frames of the identity's other videos only (the
      hardest, cross-video setting).

    K is ``num_sources`` when it is an int. When it is a list of choices, the
    batch sampler :class:`~headswap.datasets.samplers.KShotBatchSampler` picks
    one K per batch (so K is uniform within a batch) and passes
    ``(index, K)`` to the dataset; a plain integer index then uses the
    largest choice.

    Targets whose scope holds fewer than the largest K frames are an error
    (``on_small_pool='error'``, naming the identities) or are dropped with a
    logged count (``'skip'``).

    Args:
        num_sources: K, or the choices of K.
        source_scope: Where sources come from (see above).
        exclude_target: Never use the target frame itself as a source.
        on_small_pool: ``'error'`` or ``'skip'``.
        **kwargs: See :class:`TalkingHeadDataset`.
    """

    def __init__(self, num_sources: Union[int, Sequence[int]] = 1, source_scope: str = 'video',
                 exclude_target: bool = True, on_small_pool: str = 'error', **kwargs):
        choices = [num_sources] if isinstance(num_sources, int) else list(num_sources)
        if not choices or min(choices) < 1:
            raise ValueError(f'num_sources must be >= 1 (or a list of such), got {num_sources}')
        if source_scope not in _SCOPES:
            raise ValueError(f'source_scope must be one of {_SCOPES}, got {source_scope!r}')
        if on_small_pool not in ('error', 'skip'):
            raise ValueError(f"on_small_pool must be 'error' or 'skip', got {on_small_pool!r}")
        self.num_sources = num_sources
        self.source_choices = sorted(choices)
        self.source_scope = source_scope
        self.exclude_target = exclude_target
        self.on_small_pool = on_small_pool
        super().__init__(**kwargs)

    def _pool(self, data_list: List[dict], i: int) -> np.ndarray:
        d = data_list[i]
        ident = d['identity']
        if self.source_scope == 'clip':
            pool = self.clips[(ident, d['video'], d['clip'])]
        elif self.source_scope == 'video':
            pool = self.videos[(ident, d['video'])]
        elif self.source_scope == 'identity':
            pool = self.identities[ident]
        else:
            own = set(self.videos[(ident, d['video'])])
            pool = [j for j in self.identities[ident] if j not in own]
        pool = np.asarray(pool)
        return pool[pool != i] if self.exclude_target else pool

    def filter_data(self) -> List[dict]:
        data_list = super().filter_data()
        need = self.source_choices[-1]
        pools, small = [], {}
        for i in range(len(data_list)):
            pool = self._pool(data_list, i)
            if len(pool) < need:
                small.setdefault(data_list[i]['identity'], len(pool))
            pools.append(pool)
        if small:
            what = ', '.join(f'{k} ({v})' for k, v in list(small.items())[:5])
            msg = (f'{self.ann_file}: {len(small)} identities have fewer than K={need} source '
                   f'frames in scope {self.source_scope!r} (frames available: {what}'
                   f'{", ..." if len(small) > 5 else ""})')
            if self.on_small_pool == 'error':
                raise ValueError(msg + "; lower num_sources, widen source_scope, or set "
                                 "on_small_pool='skip' to drop their targets")
            keep = [i for i, p in enumerate(pools) if len(p) >= need]
            print_log(msg + f'; their targets are skipped ({len(data_list) - len(keep)} '
                      'frames)', logger='current', level=30)
            if not keep:
                raise ValueError(msg + '; no target is left')
            # frames of skipped targets still serve as sources of the others
            self._source_pools = [pools[i] for i in keep]
            self._targets = keep
        else:
            self._source_pools = pools
        return data_list

    def _select_samples(self, keep: List[int]) -> None:
        super()._select_samples(keep)
        self._source_pools = [self._source_pools[i] for i in keep]

    def prepare_data(self, idx: Union[int, Tuple[int, int]]):
        idx, k = idx if isinstance(idx, tuple) else (idx, self.source_choices[-1])
        if k > self.source_choices[-1]:
            raise ValueError(f'K={k} is larger than the dataset was checked for '
                             f'(num_sources={self.num_sources})')
        info = self.get_data_info(idx)
        rng = self.rng(idx)
        pool = self._source_pools[idx]
        chosen = np.sort(rng.choice(len(pool), size=k, replace=False))
        results = self.frame_info(info)
        results['sources'] = [self.frame_info(self.frame_data(int(pool[j]))) for j in chosen]
        results['num_sources'] = k
        results['sample_idx'] = idx
        return self.pipeline(results)
