"""Write image grids of the samples a config's dataset produces (after its pipeline).

    python tools/misc/browse_dataset.py CONFIG [--split train|val|test] [--num 8] \
        [--per-grid 4] [--out work_dirs/browse] [--cfg-options ...]

One row per sample: every image, parsing map (in the CelebAMask-HQ palette) and mask that
the packing transform put in ``inputs`` and the data sample, K source images side by side.
"""
import argparse
import os
import os.path as osp
from typing import List

import numpy as np
import torch
from mmengine.config import DictAction

from headswap.utils.cli import UserError, friendly_errors


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('--split', choices=['train', 'val', 'test'], default='train')
    p.add_argument('--num', type=int, default=8, help='samples to draw')
    p.add_argument('--per-grid', type=int, default=4, help='samples (rows) per image file')
    p.add_argument('--tile', type=int, default=128, help='tile side in pixels')
    p.add_argument('--out', default=None, help='output folder (default work_dirs/browse_<cfg>)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(argv)


def colourise(labels: torch.Tensor) -> torch.Tensor:
    """``(1, H, W)`` long labels -> ``(3, H, W)`` uint8 in the face-parsing palette."""
    from headswap.structures.face_labels import PARSING_PALETTE
    palette = torch.tensor(PARSING_PALETTE, dtype=torch.uint8)
    return palette[labels[0].clamp(0, len(palette) - 1)].permute(2, 0, 1)


def sample_row(sample: dict) -> List[torch.Tensor]:
    """The drawable tensors of a packed sample, inputs first."""
    row = []
    fields = list(sample['inputs'].items()) + list(sample['data_samples'].items())
    for _, value in fields:
        if not isinstance(value, torch.Tensor) or value.dim() not in (3, 4):
            continue
        if value.dtype == torch.uint8 and value.shape[-3] == 3:
            row.append(value)
        elif value.dtype == torch.long and value.dim() == 3:
            row.append(colourise(value))
        elif value.is_floating_point() and value.dim() == 3 and value.shape[0] == 1:
            row.append(value)
    return row


def main(argv=None) -> List[str]:
    args = parse_args(argv)
    with friendly_errors('browse_dataset.py'):
        import cv2
        from mmengine.registry import DATASETS, init_default_scope

        from headswap.utils import register_all_modules
        from headswap.utils.config import load_config
        from headswap.utils.config_keys import merge_cfg_options
        from headswap.visualization import make_image_grid
        cfg = load_config(args.config)
        merge_cfg_options(cfg, args.cfg_options)
        register_all_modules(init_default_scope=False)
        init_default_scope(cfg.get('default_scope', 'headswap'))
        loader = cfg.get(f'{args.split}_dataloader')
        if loader is None:
            raise UserError(f'{args.config}: has no {args.split}_dataloader')
        dataset = DATASETS.build(loader['dataset'])
        out = args.out or osp.join('work_dirs', 'browse_' + osp.splitext(
            osp.basename(args.config))[0])
        os.makedirs(out, exist_ok=True)
        num = min(args.num, len(dataset))
        written, rows = [], []
        for i in range(num):
            rows.append(sample_row(dataset[i]))
            if len(rows) == args.per_grid or i == num - 1:
                grid = make_image_grid(rows, tile=args.tile)
                path = osp.join(out, f'{args.split}_{len(written):03d}.png')
                cv2.imwrite(path, np.ascontiguousarray(grid[..., ::-1]))
                written.append(path)
                rows = []
        print(f'{num} samples of {len(dataset)} drawn into {len(written)} grid(s) in {out}')
        return written


if __name__ == '__main__':
    main()
