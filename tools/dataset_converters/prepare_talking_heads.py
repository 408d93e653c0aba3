"""Raw talking-head videos (or images) -> aligned 512x512 frames, parsing maps, index.json.

    python tools/dataset_converters/prepare_talking_heads.py INPUT OUT \
        [--config configs/data_preparation/talking_heads_rtmpose_bisenet.py] [--workers N] \
        [--gpus N|all] [--stride S] [--crop-scale C] [--max-frames M] \
        [--cfg-options preparation.min_blur=0 ...]

INPUT: VoxCeleb2's id/video/clip.mp4 layout, or any folder of videos / image folders
(docs/en/data_preparation.md). Resumable: rerun the same command after an interruption.
"""
import argparse
import logging
import os.path as osp
import sys

from mmengine.config import DictAction

from headswap.errors import UserError
from headswap.utils.cli import friendly_errors

DEFAULT_CONFIG = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
                          'configs/data_preparation/talking_heads_rtmpose_bisenet.py')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('input', help='folder of videos / images')
    p.add_argument('out', help='output dataset folder')
    p.add_argument('--config', default=DEFAULT_CONFIG,
                   help='preparation config (models and settings); the offline one is '
                   'configs/data_preparation/talking_heads_offline.py')
    p.add_argument('--workers', type=int, default=0,
                   help='worker processes, each decoding and processing whole clips '
                   '(0: in this process)')
    p.add_argument('--stride', type=int, help='keep every S-th frame')
    p.add_argument('--crop-scale', type=float,
                   help='crop side relative to a tight face crop (default 2.0)')
    p.add_argument('--max-frames', type=int, help='at most M frames per clip (after stride)')
    p.add_argument('--batch-size', type=int, help='frames per model call')
    p.add_argument('--device', help="device of the torch models: 'auto', 'cpu', 'cuda:0'")
    p.add_argument('--gpus', help="spread the clips over this node's GPUs: a number, or 'all' "
                   '(one worker per GPU at least; more with --workers)')
    p.add_argument('--only', help='only clips whose identity/video/clip contains this text')
    p.add_argument('--retry-failed', action='store_true',
                   help='process again the clips that failed in an earlier run')
    p.add_argument('--no-progress', action='store_true', help='no progress bar')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config settings, e.g. preparation.min_blur=0')
    return p.parse_args(argv)


def gpu_devices(gpus: str) -> list:
    """``['cuda:0', ...]`` for ``--gpus N`` / ``--gpus all``, checked against the GPUs
    this process can see."""
    import torch
    visible = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if gpus != 'all' and not (gpus.isdigit() and int(gpus) > 0):
        raise UserError(f"--gpus must be a number of GPUs or 'all', got {gpus!r}")
    n = visible if gpus == 'all' else int(gpus)
    if n == 0 or n > visible:
        raise UserError(f'--gpus {gpus}: {visible} CUDA device(s) visible here '
                        '(CUDA_VISIBLE_DEVICES, driver); use --device cpu or fewer GPUs')
    return [f'cuda:{i}' for i in range(n)]


def main(argv=None) -> dict:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(message)s',
                        stream=sys.stderr)
    with friendly_errors('prepare_talking_heads.py'):
        from headswap.datasets.preparation import format_summary, prepare_dataset, set_models_device
        from headswap.utils.config import load_config
        from headswap.utils.config_keys import merge_cfg_options
        cfg = load_config(args.config)
        merge_cfg_options(cfg, args.cfg_options, runtime=False)
        settings = dict(cfg.get('preparation', {}))
        for key in ('stride', 'crop_scale', 'max_frames', 'batch_size'):
            if getattr(args, key) is not None:
                settings[key] = getattr(args, key)
        models = {k: cfg[k].to_dict() for k in ('detector', 'landmarker', 'parser') if k in cfg}
        devices = gpu_devices(args.gpus) if args.gpus is not None else None
        if devices and args.device is not None:
            raise UserError('--gpus and --device exclude each other: --gpus puts the models '
                            'of each worker on its own GPU')
        if args.device is not None:
            set_models_device(models, args.device)
        summary = prepare_dataset(args.input, args.out, settings, workers=args.workers,
                                  devices=devices,
                                  retry_failed=args.retry_failed,
                                  progress=not args.no_progress, clip_filter=args.only,
                                  **models)
        print(format_summary(summary))
        print(f'index: {osp.join(args.out, "index.json")}')
    return summary


if __name__ == '__main__':
    main()
