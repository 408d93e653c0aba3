"""Test (evaluate) a headswap checkpoint.

    python tools/test.py CONFIG [CHECKPOINT] [--out metrics.json] [--show-dir DIR]
                         [--work-dir DIR] [--cfg-options k=v ...] [--launcher ...]

``--out`` writes the metrics as JSON and, beside it, a markdown table (.md); the
table is printed in any case. A checkpoint that does not fit the config's model (for
example the other stage's) is refused before testing.
``--show-dir`` writes an image grid per test sample (under the run's log dir).
"""
import argparse
import json
import os
import os.path as osp

from mmengine.config import DictAction

from headswap.utils.checkpoint import check_checkpoint_fits
from headswap.utils.cli import UserError, friendly_errors
from headswap.utils.config import apply_tool_options, build_runner, load_config
from headswap.utils.dist import shutdown_distributed


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a headswap checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', nargs='?',
                        help='checkpoint file; leave it out for models that load their own '
                        'weights from the config (HeadSwapper: model.aligner_checkpoint, '
                        'model.blender_checkpoint)')
    parser.add_argument('--work-dir', help='the dir to save logs and results')
    parser.add_argument('--out', help='write the metrics to this JSON file (and a .md table)')
    parser.add_argument('--show-dir', help='write an image grid per test sample to this dir '
                        '(relative to the run log dir)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def metrics_table(metrics: dict) -> str:
    """A markdown table of metric name -> value."""
    lines = ['| metric | value |', '| --- | --- |']
    for k, v in metrics.items():
        lines.append(f'| {k} | {v:.4f} |' if isinstance(v, float) else f'| {k} | {v} |')
    return '\n'.join(lines)


def _jsonable(v):
    if hasattr(v, 'item') and getattr(v, 'ndim', 1) == 0:
        return v.item()
    if hasattr(v, 'tolist'):
        return v.tolist()
    return v


def _loads_own_weights(model_cfg) -> bool:
    """Whether the model takes its weights from checkpoint paths in its config."""
    return any(k.endswith('_checkpoint') for k in (model_cfg or {}))


def main(argv=None):
    args = parse_args(argv)
    with friendly_errors('test.py'):
        if args.checkpoint is not None and not osp.isfile(args.checkpoint):
            raise UserError(f'{args.checkpoint}: no such checkpoint file')
        cfg = load_config(args.config)
        apply_tool_options(cfg, args.cfg_options, args.launcher, args.work_dir, args.config)
        if args.checkpoint is not None:
            cfg.load_from = args.checkpoint
        elif not cfg.get('load_from') and not _loads_own_weights(cfg.model):
            raise UserError(f'{args.config}: give a CHECKPOINT (this model does not load '
                            'its weights from the config)')
        if args.show_dir:
            vis = cfg.default_hooks.get('visualization')
            if vis is None:
                raise UserError(f'{args.config}: --show-dir needs a `visualization` hook in '
                                'default_hooks (e.g. ImageGridHook)')
            vis['test_out_dir'] = args.show_dir
        runner = build_runner(cfg, args.launcher)
        rank = runner.rank
        finished = False
        try:
            if args.checkpoint is not None:
                check_checkpoint_fits(runner.model, args.checkpoint)
            metrics = runner.test()
            finished = True
        finally:
            del runner  # before the process group (see shutdown_distributed)
            shutdown_distributed(synchronize=finished)
        if rank != 0:
            return
        metrics = {k: _jsonable(v) for k, v in (metrics or {}).items()}
        table = metrics_table(metrics)
        if args.out:
            os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
            with open(args.out, 'w') as f:
                json.dump(metrics, f, indent=2)
            with open(osp.splitext(args.out)[0] + '.md', 'w') as f:
                weights = args.checkpoint or 'weights named in the config'
                f.write(f'{osp.basename(args.config)}, {weights}\n\n{table}\n')
        print(table)


if __name__ == '__main__':
    main()
