import json
import os.path as osp
from typing import Dict, List, Optional, Tuple

import numpy as np

from headswap.errors import UserError
from headswap.registry import DATASETS
from .talking_head_dataset import TalkingHeadDataset

__all__ = ['TalkingHeadSplitDataset', 'frame_ref', 'parse_frame_ref']


def frame_ref(identity: str, video: str, clip: str, frame: int) -> str:
    """``'identity/video/clip/frame'``: how a split file names a frame."""
    return f'{identity}/{video}/{clip}/{int(frame)}'


def parse_frame_ref(ref: str) -> Tuple[str, str, str, int]:
    identity, video, clip, frame = ref.rsplit('/', 3)
    return identity, video, clip, int(frame)


@DATASETS.register_module()
class TalkingHeadSplitDataset(TalkingHeadDataset):
    """Evaluation samples fixed by a split file (``tools/dataset_converters/make_splits.py``).

    A split is a list of pairs: source clips with an ordered list of source
    frames, and a driver clip with the driver frames. Every driver frame of every
    pair is one sample, whose sources are the pair's first ``num_sources``
    frames (so K = 1, 2, 4... use nested source sets and every run of a
    protocol sees the same inputs). Split format (JSON)::

        {"metainfo": {"protocol": "self_reenactment", ...},
         "pairs": [{"source_clips": ["id/video/clip", ...],
                    "source_frames": ["id/video/clip/frame", ...],
                    "driver_clip": "id/video/clip",
                    "driver_frames": [frame, ...]}, ...]}

    A sample carries what both stages' loading transforms read: the driver
    frame as the target (``img_path``, ``parsing_path``, ``landmarks``), the
    sources (``sources``, for :class:`LoadHead2HeadFrames`) and another frame
    of the driver clip (``other``, for :class:`LoadHead2SceneFrames`; half the
    clip away). It adds ``source_identity``, ``pair_index`` and ``protocol``
    (pack them with ``meta_keys``).

    Args:
        split_file: The split (JSON), relative to ``data_root`` unless absolute.
        num_sources: K; None takes every source frame the pair lists.
        on_small_pool: A pair listing fewer than K source frames is an error
            (``'error'``) or is left out (``'skip'``, logged).
        seed: Seed of the random test transforms (numpy's generator is seeded
            per sample while its pipeline runs, then restored).
        **kwargs: See :class:`TalkingHeadDataset` (``ann_file``, ``data_root``).
    """

    def __init__(self, split_file: str, num_sources: Optional[int] = None,
                 on_small_pool: str = 'error', seed: int = 0, **kwargs):
        if num_sources is not None and num_sources < 1:
            raise ValueError(f'num_sources must be >= 1 or None, got {num_sources}')
        if on_small_pool not in ('error', 'skip'):
            raise ValueError(f"on_small_pool must be 'error' or 'skip', got {on_small_pool!r}")
        self.split_file = split_file
        self.num_sources = num_sources
        self.on_small_pool = on_small_pool
        self.seed = int(seed)
        self.split_meta: dict = {}
        self._samples: List[Tuple[int, int]] = []   # (pair index, driver frame index)
        self._pair_sources: List[List[int]] = []
        self._pair_refs: List[dict] = []
        super().__init__(**kwargs)

    def _read_split(self) -> dict:
        path = self.split_file
        if not osp.isabs(path) and self.data_root and not osp.isfile(path):
            path = osp.join(self.data_root, path)
        if not osp.isfile(path):
            raise UserError(f'{self.split_file}: no such split file; make one with '
                            'tools/dataset_converters/make_splits.py DATA_ROOT')
        try:
            with open(path) as f:
                split = json.load(f)
        except json.JSONDecodeError as e:
            raise UserError(f'{path}: not a valid split file ({e})') from None
        if not isinstance(split, dict) or not isinstance(split.get('pairs'), list):
            raise UserError(f'{path}: a split file is {{"metainfo": ..., "pairs": [...]}}')
        self.split_file = path
        return split

    def filter_data(self) -> List[dict]:
        data_list = super().filter_data()
        split = self._read_split()
        self.split_meta = dict(split.get('metainfo', {}))
        by_ref: Dict[str, int] = {
            frame_ref(d['identity'], d['video'], d['clip'], d['frame']): i
            for i, d in enumerate(data_list)}

        def lookup(n: int, ref: str, what: str) -> int:
            if ref not in by_ref:
                clip = ref.rsplit('/', 1)[0]
                missing = 'clip' if tuple(clip.split('/')) not in self.clips else 'frame'
                raise UserError(
                    f'{self.split_file}: pair {n} names the {what} {missing} '
                    f'{clip if missing == "clip" else ref}, which is not in {self.ann_file}; '
                    'the split was made for another dataset: remake it with '
                    'tools/dataset_converters/make_splits.py')
            return by_ref[ref]

        samples, sources, refs, small = [], [], [], []
        for n, pair in enumerate(split['pairs']):
            try:
                src = [lookup(n, r, 'source') for r in pair['source_frames']]
                drv_clip = pair['driver_clip']
                drv = [lookup(n, f'{drv_clip}/{f}', 'driver') for f in pair['driver_frames']]
            except (KeyError, TypeError, ValueError) as e:
                if isinstance(e, UserError):
                    raise
                raise UserError(f'{self.split_file}: pair {n} is malformed ({e!r}); see '
                                'TalkingHeadSplitDataset for the format') from None
            if self.num_sources is not None and len(src) < self.num_sources:
                small.append((n, len(src)))
                continue
            k = len(src) if self.num_sources is None else self.num_sources
            for frame in drv:
                samples.append((len(sources), frame))
            sources.append(src[:k])
            refs.append(dict(pair, index=n))
        if small:
            msg = (f'{self.split_file}: {len(small)} pairs list fewer than K='
                   f'{self.num_sources} source frames (pair, frames: {small[:5]}'
                   f'{", ..." if len(small) > 5 else ""})')
            if self.on_small_pool == 'error' or not samples:
                raise UserError(msg + "; lower num_sources, set on_small_pool='skip', or "
                                'remake the split with more --max-sources')
            from mmengine.logging import print_log
            print_log(msg + '; they are left out', logger='current', level=30)
        if not samples:
            raise UserError(f'{self.split_file}: the split has no pairs')
        self._samples, self._pair_sources, self._pair_refs = samples, sources, refs
        self._targets = [frame for _, frame in samples]
        return data_list

    def _select_samples(self, keep: List[int]) -> None:
        super()._select_samples(keep)
        self._samples = [self._samples[i] for i in keep]

    @property
    def num_pairs(self) -> int:
        """Pairs in use (after ``on_small_pool='skip'``)."""
        if not self._fully_initialized:
            self.full_init()
        return len(self._pair_refs)

    def pair_of(self, idx: int) -> dict:
        """The split entry of sample ``idx`` (with its ``index`` in the file)."""
        return self._pair_refs[self._samples[idx][0]]

    def prepare_data(self, idx: int):
        pair, frame = self._samples[idx]
        info = self.frame_data(frame)
        results = self.frame_info(info)
        results['sources'] = [self.frame_info(self.frame_data(j))
                              for j in self._pair_sources[pair]]
        results['num_sources'] = len(results['sources'])
        clip = self.clips[(info['identity'], info['video'], info['clip'])]
        other = clip[(clip.index(frame) + len(clip) // 2) % len(clip)]
        results['other'] = self.frame_info(self.frame_data(other))
        ref = self._pair_refs[pair]
        src_ids = {parse_frame_ref(r)[0] for r in ref['source_frames']}
        if not src_ids:  # a reconstruction split: the driver is its own source
            src_ids = {info['identity']}
        results['source_identity'] = '+'.join(sorted(src_ids))
        results['pair_index'] = ref['index']
        results['protocol'] = self.split_meta.get('protocol', 'unknown')
        results['sample_idx'] = idx
        # random test transforms (the stage-2 synthesis) draw from numpy's global generator:
        # seed it per sample for the pipeline only, so every run sees the same inputs
        state = np.random.get_state()
        np.random.seed((self.seed * 1_000_003 + idx) % 2 ** 32)
        try:
            return self.pipeline(results)
        finally:
            np.random.set_state(state)
