"""Train a headswap model.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [auto|PATH]] [--amp]
                                 [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]

Distributed: ``tools/dist_train.sh CONFIG GPUS`` (torchrun; gloo on CPU-only
machines) or ``tools/slurm_train.sh PARTITION JOB CONFIG GPUS``.
"""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction

from headswap.utils.cli import UserError, friendly_errors
from headswap.utils.config import apply_precision, apply_tool_options, build_runner, load_config
from headswap.utils.dist import shutdown_distributed


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a headswap model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and checkpoints '
                        '(default: ./work_dirs/CONFIG_NAME)')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume training: without a value (or "auto") from the latest checkpoint in '
        'the work dir; with a path, from that checkpoint')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: bf16 autocast where supported (CPU, Ampere+), '
                        'else fp16 with dynamic loss scaling')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. train_dataloader.batch_size=2')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    # torch.distributed.launch passes --local_rank / --local-rank
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main(argv=None):
    args = parse_args(argv)
    with friendly_errors('train.py'):
        cfg = load_config(args.config)
        apply_tool_options(cfg, args.cfg_options, args.launcher, args.work_dir, args.config)
        apply_precision(cfg, args.amp)
        if args.resume == 'auto':
            cfg.resume = True
            cfg.load_from = None
        elif args.resume is not None:
            if not osp.isfile(args.resume):
                raise UserError(f'--resume {args.resume}: no such checkpoint file; give an '
                                'existing .pth, or --resume alone for the latest checkpoint '
                                'in the work dir')
            cfg.resume = True
            cfg.load_from = args.resume
        runner = build_runner(cfg, args.launcher)
        finished = False
        try:
            runner.train()
            finished = True
        finally:
            del runner  # before the process group (see shutdown_distributed)
            shutdown_distributed(synchronize=finished)


if __name__ == '__main__':
    main()
