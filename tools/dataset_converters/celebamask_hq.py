"""Convert the CelebAMask-HQ release into mmseg's layout with headswap's 19 label ids.

    python tools/dataset_converters/celebamask_hq.py /path/to/CelebAMask-HQ data/celebamask_hq \
        [--workers 8]

Reads ``CelebA-HQ-img/<n>.jpg`` (1024x1024, resized to 512), the per-part masks
``CelebAMask-HQ-mask-anno/<n // 2000>/<n:05d>_<part>.png`` and
``CelebA-HQ-to-CelebA-mapping.txt``; writes ``img_dir/{train,val,test}/<n>.jpg`` and
``ann_dir/{train,val,test}/<n>.png`` (uint8, ids of docs/en/data_format.md, background 0).
Parts are painted in the release's file order (later parts win where masks overlap, as the
release's own g_mask.py does). The split follows CelebA's official partition of the
original images (train: files 1-162770, val: 162771-182637, test: the rest).
"""
import argparse
import multiprocessing as mp
import os
import os.path as osp
import sys
from typing import Tuple

import cv2
import numpy as np

from headswap.structures.face_labels import CELEBAMASK_HQ_FILE_ORDER, PARSING_CLASSES

_PART_IDS = [(name, PARSING_CLASSES.index(name)) for name in CELEBAMASK_HQ_FILE_ORDER]
CELEBA_TRAIN_END, CELEBA_VAL_END = 162770, 182637  # last file number of each CelebA split


def split_of(celeba_file: str) -> str:
    number = int(osp.splitext(celeba_file)[0])
    return 'train' if number <= CELEBA_TRAIN_END else 'val' if number <= CELEBA_VAL_END \
        else 'test'


def labels_of(root: str, n: int, size: int = 512) -> np.ndarray:
    """The ``(size, size)`` uint8 label map of image ``n``, from its part masks."""
    folder = osp.join(root, 'CelebAMask-HQ-mask-anno', str(n // 2000))
    labels = np.zeros((size, size), np.uint8)
    for name, label in _PART_IDS:
        path = osp.join(folder, f'{n:05d}_{name}.png')
        if not osp.isfile(path):
            continue  # the part is absent from this face
        mask = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
        if mask is None:
            raise OSError(f'{path}: not a readable mask')
        if mask.shape != (size, size):
            mask = cv2.resize(mask, (size, size), interpolation=cv2.INTER_NEAREST)
        labels[mask > 127] = label
    return labels


def _convert_one(args: Tuple[str, str, int, str]) -> str:
    root, out, n, split = args
    img = cv2.imread(osp.join(root, 'CelebA-HQ-img', f'{n}.jpg'), cv2.IMREAD_COLOR)
    if img is None:
        return f'{n}.jpg: missing or unreadable, skipped'
    img = cv2.resize(img, (512, 512), interpolation=cv2.INTER_AREA)
    cv2.imwrite(osp.join(out, 'img_dir', split, f'{n}.jpg'), img,
                [cv2.IMWRITE_JPEG_QUALITY, 95])
    cv2.imwrite(osp.join(out, 'ann_dir', split, f'{n}.png'), labels_of(root, n))
    return ''


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('root', help='the unpacked CelebAMask-HQ folder')
    p.add_argument('out', help='output folder (data_root of the mmseg config)')
    p.add_argument('--workers', type=int, default=4)
    args = p.parse_args(argv)
    mapping = osp.join(args.root, 'CelebA-HQ-to-CelebA-mapping.txt')
    if not osp.isfile(mapping):
        sys.exit(f'celebamask_hq.py: error: {mapping}: not found; give the CelebAMask-HQ folder')
    tasks = []
    with open(mapping) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 3 or not parts[0].isdigit():
                continue  # header
            n, split = int(parts[0]), split_of(parts[2])
            tasks.append((args.root, args.out, n, split))
    for split in ('train', 'val', 'test'):
        for kind in ('img_dir', 'ann_dir'):
            os.makedirs(osp.join(args.out, kind, split), exist_ok=True)
    if args.workers > 0:
        with mp.get_context('spawn').Pool(args.workers) as pool:
            problems = [m for m in pool.imap(_convert_one, tasks, chunksize=64) if m]
    else:
        problems = [m for m in map(_convert_one, tasks) if m]
    counts = {s: sum(t[3] == s for t in tasks) for s in ('train', 'val', 'test')}
    for m in problems:
        print(m, file=sys.stderr)
    print(f'converted {len(tasks) - len(problems)} images to {args.out}: {counts}')
    return counts


if __name__ == '__main__':
    main()
