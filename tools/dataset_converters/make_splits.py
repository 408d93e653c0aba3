"""Write the evaluation splits of a prepared dataset: fixed (source frames, driver frames) pairs.

    python tools/dataset_converters/make_splits.py DATA_ROOT [--out-dir DIR]
        [--protocols self_reenactment cross_identity reconstruction]
        [--max-sources 32] [--min-sources 1] [--max-driver-frames 0] [--seed 0]
        [--identities ID [ID ...]]

Deterministic: the same index and arguments give byte-identical files, so numbers
computed on a split are comparable across runs and machines. Protocols (one JSON
file each, read by ``TalkingHeadSplitDataset``):

* ``self_reenactment``: every clip drives; its sources are frames of the same
  identity's *other* videos (other clips of the same video when it has one
  video only; identities with a single clip have no pair). The driver frame is
  the ground truth.
* ``cross_identity``: every clip drives; identities sorted by name, the sources
  of identity number i's clips are frames of identity i+1 (cyclically). No
  ground truth.
* ``reconstruction`` (stage 2 and full-swap reconstruction): every clip with
  at least two frames, no sources; every driver frame is a target.

Source frames are listed in a fixed pseudo-random order (seeded by ``--seed`` and
the pair's names, not by Python's hash); K-shot evaluation takes the first K, so
the K = 1 sources are among the K = 2 ones, and so on. ``--max-driver-frames N``
keeps N evenly spaced frames per driver clip (0: all).
"""
import argparse
import hashlib
import json
import os
import os.path as osp
import sys
from collections import defaultdict
from typing import Dict, List, Sequence, Tuple

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PROTOCOLS = ('self_reenactment', 'cross_identity', 'reconstruction')

Clip = Tuple[str, str, str]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Write evaluation splits of a prepared dataset')
    parser.add_argument('data_root', help='prepared dataset folder (with index.json)')
    parser.add_argument('--ann-file', default='index.json', help='index, relative to DATA_ROOT')
    parser.add_argument('--out-dir', help='where to write <protocol>.json (DATA_ROOT/splits)')
    parser.add_argument('--protocols', nargs='+', choices=PROTOCOLS, default=list(PROTOCOLS))
    parser.add_argument('--max-sources', type=int, default=32,
                        help='source frames listed per pair (K-shot uses the first K)')
    parser.add_argument('--min-sources', type=int, default=1,
                        help='leave out pairs with fewer source frames')
    parser.add_argument('--max-driver-frames', type=int, default=0,
                        help='evenly spaced driver frames per clip (0: all)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--identities', nargs='+', help='only these identities (test set)')
    return parser.parse_args(argv)


def _rng(seed: int, *names: str) -> np.random.Generator:
    digest = hashlib.sha256('\0'.join((str(seed),) + names).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], 'little'))


def load_clips(index_path: str, identities: Sequence[str] = None) -> Dict[Clip, List[int]]:
    """``{(identity, video, clip): sorted frame numbers}`` of an ``index.json``."""
    from headswap.utils.cli import UserError
    if not osp.isfile(index_path):
        raise UserError(f'{index_path}: no such index; prepare the dataset first '
                        '(tools/dataset_converters/prepare_talking_heads.py)')
    with open(index_path) as f:
        entries = json.load(f).get('data_list', [])
    keep = None if not identities else set(identities)
    clips = defaultdict(list)
    for d in entries:
        if keep is None or d['identity'] in keep:
            clips[(d['identity'], d['video'], d['clip'])].append(int(d['frame']))
    if not clips:
        raise UserError(f'{index_path}: no frames{" of the given identities" if keep else ""}')
    return {k: sorted(v) for k, v in sorted(clips.items())}


def _ref(clip: Clip, frame: int) -> str:
    return '/'.join(clip) + f'/{frame}'


def _driver_frames(frames: List[int], limit: int) -> List[int]:
    if limit <= 0 or len(frames) <= limit:
        return list(frames)
    picks = np.round(np.linspace(0, len(frames) - 1, limit)).astype(int)
    return [frames[i] for i in sorted(set(picks.tolist()))]


def _pair(sources: List[Clip], driver: Clip, clips: Dict[Clip, List[int]], args) -> dict:
    pool = [_ref(c, f) for c in sources for f in clips[c]]
    order = _rng(args.seed, '/'.join(driver), *('/'.join(c) for c in sources)).permutation(
        len(pool))
    return dict(source_clips=['/'.join(c) for c in sources],
                source_frames=[pool[i] for i in order[:args.max_sources]],
                driver_clip='/'.join(driver),
                driver_frames=_driver_frames(clips[driver], args.max_driver_frames))


def make_pairs(protocol: str, clips: Dict[Clip, List[int]], args) -> List[dict]:
    by_identity: Dict[str, List[Clip]] = defaultdict(list)
    for clip in clips:
        by_identity[clip[0]].append(clip)
    pairs = []
    if protocol == 'reconstruction':
        return [_pair([], c, clips, args) for c in clips if len(clips[c]) >= 2]
    names = sorted(by_identity)
    for n, identity in enumerate(names):
        for driver in by_identity[identity]:
            if protocol == 'self_reenactment':
                own = by_identity[identity]
                other_videos = [c for c in own if c[1] != driver[1]]
                sources = other_videos or [c for c in own if c != driver]
            else:
                if len(names) < 2:
                    break
                sources = by_identity[names[(n + 1) % len(names)]]
            if sources:
                pairs.append(_pair(sources, driver, clips, args))
    return [p for p in pairs if protocol == 'reconstruction' or
            len(p['source_frames']) >= args.min_sources]


def main(argv=None) -> None:
    args = parse_args(argv)
    sys.path.insert(0, ROOT)
    from headswap.utils.cli import UserError, friendly_errors
    with friendly_errors('make_splits.py'):
        if args.max_sources < 1 or args.min_sources < 1:
            raise UserError('--max-sources and --min-sources must be >= 1')
        index_path = osp.join(args.data_root, args.ann_file)
        clips = load_clips(index_path, args.identities)
        out_dir = args.out_dir or osp.join(args.data_root, 'splits')
        os.makedirs(out_dir, exist_ok=True)
        for protocol in args.protocols:
            pairs = make_pairs(protocol, clips, args)
            meta = dict(protocol=protocol, ann_file=args.ann_file,
                        identities=sorted({c[0] for c in clips}), seed=args.seed,
                        max_sources=args.max_sources, min_sources=args.min_sources,
                        max_driver_frames=args.max_driver_frames,
                        num_pairs=len(pairs),
                        num_samples=sum(len(p['driver_frames']) for p in pairs),
                        created_by='tools/dataset_converters/make_splits.py')
            path = osp.join(out_dir, f'{protocol}.json')
            with open(path, 'w') as f:
                json.dump(dict(metainfo=meta, pairs=pairs), f, indent=1)
                f.write('\n')
            print(f'{path}: {len(pairs)} pairs, {meta["num_samples"]} samples')


if __name__ == '__main__':
    main()
