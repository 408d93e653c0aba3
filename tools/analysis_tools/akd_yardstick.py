"""What a learning-check score means: the held-out targets themselves, degraded, scored.

    python tools/analysis_tools/akd_yardstick.py [--data-root data/sample] [--size 512]
        [--hold-out-every 4] [--blur 1 2 3 4 6] [--shift 1 2 3 4 8] [--rescale 256 128 64]
        [--out yardstick.json]

``learning_check.py`` scores stage 1 by PSNR against the held-out targets and by the landmark
distance (AKD) between each output and its driver, beside the mean face. This tool takes the
same held-out frames (the same split, loader and scorer) and scores known degradations of the
targets in their place: Gaussian blur of sigma S px, a shift by S px right and down (the
frame rolled, so no border is invented), and shrinking to S px and back (area, then cubic).
A model's numbers then read as "as good as the target blurred by sigma 4" or "as far off as
every point moved by 3 px": whether its error is sharpness or geometry, and what a threshold
such as "AKD at most half of the mean face's" asks. No GPU and no model: the landmarker is
the learning check's (offline MediaPipe face mesh).
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import Callable, Dict, List, Tuple

import numpy as np
import torch

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
for path in (ROOT, HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

from learning_check import (LandmarkScorer, _fmt, load_frames, score_stage1,  # noqa: E402
                            split_index)  # (this folder's tool: one split, loader and scorer)

from headswap.utils.cli import UserError, friendly_errors  # noqa: E402

COLUMNS = ('psnr_head', 'psnr_whole', 'akd', 'akd_percent_of_mean_face', 'akd_all',
           'landmarks_kept')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data-root', default='data/sample')
    p.add_argument('--size', type=int, default=512, help='side the frames are scored at')
    p.add_argument('--hold-out-every', type=int, default=4,
                   help="learning_check.py's split (the same frames are held out)")
    p.add_argument('--blur', type=float, nargs='*', default=[1, 2, 3, 4, 6],
                   help='Gaussian blur sigmas, px')
    p.add_argument('--shift', type=int, nargs='*', default=[1, 2, 3, 4, 8],
                   help='shifts right and down, px')
    p.add_argument('--rescale', type=int, nargs='*', default=[256, 128, 64],
                   help='sides to shrink to and enlarge back from, px')
    p.add_argument('--out', help='write the rows as JSON here')
    return p.parse_args(argv)


def _per_image(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[torch.Tensor], torch.Tensor]:
    """A function of one HxWx3 uint8 array applied to uint8 ``(N, 3, H, W)`` images."""
    def apply(imgs: torch.Tensor) -> torch.Tensor:
        out = [fn(np.ascontiguousarray(x.permute(1, 2, 0).numpy())) for x in imgs]
        return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()
    return apply


def degradations(blur: List[float], shift: List[int], rescale: List[int], size: int
                 ) -> List[Tuple[str, Callable[[torch.Tensor], torch.Tensor]]]:
    """``(name, function)`` of each degradation of uint8 ``(N, 3, S, S)`` images."""
    import cv2
    out = []
    for s in blur:
        if s <= 0:
            raise UserError(f'--blur sigmas must be > 0, got {s}')
        out.append((f'blur sigma {s:g} px',
                    _per_image(lambda a, s=s: cv2.GaussianBlur(a, (0, 0), s))))
    for s in shift:
        if not 0 < s < size:
            raise UserError(f'--shift must be between 1 and {size - 1} px, got {s}')
        out.append((f'shift {s} px right and down',
                    lambda x, s=s: torch.roll(x, shifts=(s, s), dims=(2, 3))))
    for s in rescale:
        if not 1 < s < size:
            raise UserError(f'--rescale sides must be between 2 and {size - 1} px, got {s}')
        out.append((f'shrunk to {s} px and back', _per_image(
            lambda a, s=s: cv2.resize(cv2.resize(a, (s, s), interpolation=cv2.INTER_AREA),
                                      (size, size), interpolation=cv2.INTER_CUBIC))))
    return out


def yardstick(data_root: str, size: int, every: int, out_dir: str,
              variants: List[Tuple[str, Callable[[torch.Tensor], torch.Tensor]]]
              ) -> Dict[str, dict]:
    """Scores of the held-out targets, the mean training frame and each degradation."""
    train_ann, held_ann, _ = split_index(data_root, every, out_dir)
    with open(train_ann) as f:
        train_rows = json.load(f)['data_list']
    with open(held_ann) as f:
        held_rows = json.load(f)['data_list']
    targets, masks, _ = load_frames(data_root, held_rows, size)
    train, train_masks, _ = load_frames(data_root, train_rows, size)
    scorer = LandmarkScorer(2.0)
    drivers = scorer(targets)  # in self-reenactment the target is the driver
    n = len(targets)
    mean = train.float().mean(0, keepdim=True).round().to(torch.uint8).expand(n, -1, -1, -1)
    mean_mask = train_masks.mean(0, keepdim=True).expand(n, -1, -1, -1)
    rows = {'target itself': score_stage1(targets, masks, targets, masks, scorer, drivers),
            'mean face': score_stage1(mean, mean_mask, targets, masks, scorer, drivers)}
    for name, fn in variants:
        # the head masks stay the target's: the region scored is the same for every row
        rows[name] = score_stage1(fn(targets), masks, targets, masks, scorer, drivers)
    ref = rows['mean face']['akd']
    for row in rows.values():
        row.pop('per_frame', None)
        row['akd_percent_of_mean_face'] = (None if row['akd'] is None or not ref
                                           else 100.0 * row['akd'] / ref)
    return rows


def markdown(rows: Dict[str, dict], n: int, size: int) -> str:
    lines = [f'# AKD yardstick: {n} held-out targets at {size}x{size}, degraded, scored as '
             'learning_check.py scores outputs', '',
             '| the target | ' + ' | '.join(COLUMNS) + ' |', '| --- ' * (len(COLUMNS) + 1) + '|']
    for name, row in rows.items():
        lines.append(f'| {name} | ' + ' | '.join(_fmt(row.get(k)) for k in COLUMNS) + ' |')
    return '\n'.join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    import tempfile
    from headswap.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    variants = degradations(args.blur, args.shift, args.rescale, args.size)
    with tempfile.TemporaryDirectory() as tmp:
        rows = yardstick(args.data_root, args.size, args.hold_out_every, tmp, variants)
    n = int(str(rows['target itself']['own_target_nearest']).split('/')[1])
    print(markdown(rows, n, args.size))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(dict(size=args.size, data_root=args.data_root, rows=rows), f, indent=1)
    return 0


if __name__ == '__main__':
    with friendly_errors('akd_yardstick'):
        sys.exit(main())
