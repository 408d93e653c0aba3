import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.dataset import BaseDataset

from headswap.registry import DATASETS
from .transforms.frame_io import LANDMARK_KEYS

__all__ = ['TalkingHeadDataset']

_REQUIRED = ('identity', 'video', 'clip', 'frame', 'img_path')


@DATASETS.register_module()
class TalkingHeadDataset(BaseDataset):
    """Frames of a prepared talking-head dataset (``index.json``, docs/en/data_format.md).

    One sample per frame (a *target*). The stage datasets (:class:`Head2HeadDataset`,
    :class:`Head2SceneDataset`) add the frames they pair with it. Paths in the
    index are relative to ``data_root``. Frames are grouped by identity, video
    and clip (``self.clips``, ``self.videos``, ``self.identities``: name ->
    sorted list of sample indices).

    Args:
        ann_file: The index, relative to ``data_root`` (usually ``'index.json'``).
        data_root: The prepared dataset folder.
        identities: Keep only these identities (e.g. a train / test split).
        check_files: Check at start that every referenced file exists (one
            ``stat`` per file; off by default for large datasets, whose
            missing files are reported when loaded).
        **kwargs: See :class:`mmengine.dataset.BaseDataset`.
    """

    METAINFO: dict = dict(dataset_type='talking_heads')

    def __init__(self, ann_file: str = 'index.json', data_root: str = '',
                 identities: Optional[Sequence[str]] = None, check_files: bool = False,
                 **kwargs):
        self.identity_filter = None if identities is None else set(identities)
        self.check_files = check_files
        self.clips: Dict[Tuple[str, str, str], List[int]] = {}
        self.videos: Dict[Tuple[str, str], List[int]] = {}
        self.identities: Dict[str, List[int]] = {}
        self.frame_numbers = np.zeros(0, np.int64)   # per sample index
        self.clip_ids = np.zeros(0, np.int64)        # per frame, position in self.clips
        self._targets: List[int] = []                # sample index -> frame index
        super().__init__(ann_file=ann_file, data_root=data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'{self.ann_file}: no such index; prepare the data with '
                'tools/dataset_converters/prepare_talking_heads.py or check data_root/ann_file')
        data_list = super().load_data_list()
        if self.identity_filter is not None:
            data_list = [d for d in data_list if d['identity'] in self.identity_filter]
        if not data_list:
            raise ValueError(f'{self.ann_file}: the index has no frames (empty data_list'
                             f'{" after the identities filter" if self.identity_filter else ""})'
                             '; see summary.json beside it for what was dropped and why')
        return data_list

    def parse_data_info(self, raw: dict) -> dict:
        missing = [k for k in _REQUIRED if k not in raw]
        if missing:
            raise ValueError(f'{self.ann_file}: entry {raw.get("img_path", raw)!r} lacks the '
                             f'keys {missing} (see docs/en/data_format.md)')
        info = dict(raw)
        info['img_path'] = osp.join(self.data_root, raw['img_path'])
        if raw.get('parsing_path'):
            info['parsing_path'] = osp.join(self.data_root, raw['parsing_path'])
        if self.check_files:
            for key in ('img_path', 'parsing_path'):
                if key in info and not osp.isfile(info[key]):
                    raise FileNotFoundError(
                        f'{self.ann_file}: references {info[key]}, which does not exist '
                        f'({raw["identity"]}/{raw["video"]}/{raw["clip"]} frame {raw["frame"]})')
        return info

    def filter_data(self) -> List[dict]:
        """Sort frames by identity, video, clip and frame, and group them."""
        data_list = sorted(self.data_list,
                           key=lambda d: (d['identity'], d['video'], d['clip'], d['frame']))
        clips, videos, identities = defaultdict(list), defaultdict(list), defaultdict(list)
        for i, d in enumerate(data_list):
            clips[(d['identity'], d['video'], d['clip'])].append(i)
            videos[(d['identity'], d['video'])].append(i)
            identities[d['identity']].append(i)
        self.clips, self.videos, self.identities = dict(clips), dict(videos), dict(identities)
        clip_ids = {key: n for n, key in enumerate(self.clips)}
        self._targets = list(range(len(data_list)))
        self.frame_numbers = np.array([d['frame'] for d in data_list], dtype=np.int64)
        self.clip_ids = np.array([clip_ids[(d['identity'], d['video'], d['clip'])]
                                  for d in data_list], dtype=np.int64)
        return data_list

    def _get_unserialized_subset(self, indices):
        """``indices`` (mmengine's dataset argument) picks samples, not frames: every frame
        of the index stays available as a source or second frame of the kept samples."""
        n = len(self._targets)
        if isinstance(indices, int):
            keep = list(range(n))[:indices] if indices >= 0 else list(range(n))[indices:]
        else:
            keep = [int(i) for i in indices]
            bad = [i for i in keep if not -n <= i < n]
            if bad:
                raise ValueError(f'{self.ann_file}: indices {bad[:5]} are out of range for '
                                 f'{n} samples')
            keep = [i % n for i in keep]
        self._select_samples(keep)
        return self.data_list

    def _select_samples(self, keep: List[int]) -> None:
        """Keep samples ``keep`` (positions in the current sample list), in that order."""
        self._targets = [self._targets[i] for i in keep]

    def __len__(self) -> int:
        if not self._fully_initialized:
            self.full_init()
        return len(self._targets)

    def get_data_info(self, idx: int) -> dict:
        """The target frame of sample ``idx``."""
        return self.frame_data(self._targets[idx])

    def frame_data(self, frame_idx: int) -> dict:
        """Any frame of the index, by its position in the sorted frame list."""
        return super().get_data_info(frame_idx)

    def rng(self, idx: int) -> np.random.RandomState:
        """Where this sample's random choices come from.

        Training draws from numpy's global generator (seeded and restored on
        resume by the runner); in ``test_mode`` every index has its own fixed
        generator, so validation sets do not change between runs.
        """
        return np.random.RandomState(idx) if self.test_mode else np.random.mtrand._rand

    @staticmethod
    def frame_info(info: dict) -> dict:
        """The fields of one frame that transforms read."""
        return {k: info[k] for k in ('identity', 'video', 'clip', 'frame', 'img_path',
                                     'parsing_path', *LANDMARK_KEYS)
                if k in info}
