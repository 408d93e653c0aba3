from typing import List

import numpy as np
from mmengine.logging import print_log

from headswap.registry import DATASETS
from .talking_head_dataset import TalkingHeadDataset

__all__ = ['Head2SceneDataset']


@DATASETS.register_module()
class Head2SceneDataset(TalkingHeadDataset):
    """Stage 2 samples: a target frame I_T and another frame I_T' of the same video.

    Every frame is a target once per epoch; I_T' is drawn from the other
    frames of the target's video (``other_scope='video'``) or clip
    (``'clip'``), at least ``min_frame_gap`` frames away when the clip allows
    it. The stage-2 synthesis transforms make the animated head I_A from the
    target. Videos (clips) with a single frame are an error naming them
    (``on_small_pool='error'``), or their frames are skipped with a logged
    count (``'skip'``, e.g. for still photos in the same index).

    Args:
        other_scope: ``'video'`` or ``'clip'``.
        min_frame_gap: Preferred smallest frame distance between I_T and I_T'
            (same clip only; ignored when no frame is that far).
        on_small_pool: ``'error'`` or ``'skip'``.
        **kwargs: See :class:`TalkingHeadDataset`.
    """

    def __init__(self, other_scope: str = 'video', min_frame_gap: int = 1,
                 on_small_pool: str = 'error', **kwargs):
        if other_scope not in ('video', 'clip'):
            raise ValueError(f"other_scope must be 'video' or 'clip', got {other_scope!r}")
        if on_small_pool not in ('error', 'skip'):
            raise ValueError(f"on_small_pool must be 'error' or 'skip', got {on_small_pool!r}")
        self.other_scope = other_scope
        self.min_frame_gap = min_frame_gap
        self.on_small_pool = on_small_pool
        super().__init__(**kwargs)

    def filter_data(self) -> List[dict]:
        data_list = super().filter_data()
        groups = self.videos if self.other_scope == 'video' else self.clips
        lonely = [k for k, v in groups.items() if len(v) < 2]
        self._targets = sorted(i for v in groups.values() if len(v) >= 2 for i in v)
        if lonely:
            names = ', '.join('/'.join(k) for k in lonely[:5])
            msg = (f'{self.ann_file}: {len(lonely)} {self.other_scope}s have a single frame, so '
                   f'I_T\' cannot be drawn for them ({names}{", ..." if len(lonely) > 5 else ""})')
            if self.on_small_pool == 'error' or not self._targets:
                raise ValueError(msg + "; set on_small_pool='skip', use identities=[...] to "
                                 'leave them out, or prepare more frames')
            print_log(msg + '; they are skipped', logger='current', level=30)
        return data_list

    def prepare_data(self, idx: int):
        info = self.get_data_info(idx)
        frame = self._targets[idx]
        group = np.asarray(self.videos[(info['identity'], info['video'])]
                           if self.other_scope == 'video'
                           else self.clips[(info['identity'], info['video'], info['clip'])])
        others = group[group != frame]
        far = others[(self.clip_ids[others] != self.clip_ids[frame])
                     | (np.abs(self.frame_numbers[others] - self.frame_numbers[frame])
                        >= self.min_frame_gap)]
        pool = far if len(far) else others
        other = int(pool[self.rng(idx).randint(len(pool))])
        results = self.frame_info(info)
        results['other'] = self.frame_info(self.frame_data(other))
        results['sample_idx'] = idx
        return self.pipeline(results)
