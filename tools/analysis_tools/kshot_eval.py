"""K-shot curves of stage 1: identity and pose error against K, meta-learned vs fine-tuned.

    python tools/analysis_tools/kshot_eval.py CHECKPOINT [--config EVAL_CONFIG]
        [--shots 1 2 4 8 16 32] [--ft-config FT_CONFIG] [--ft-iters 600] [--no-finetune]
        [--max-pairs N] [--max-driver-frames N] [--work-dir DIR] [--out kshot.json]
        [--device auto] [--cfg-options k=v ...] [--ft-cfg-options k=v ...]

The layout of the supplement's Fig. 2. For every K and every pair of the evaluation
config's split (source frames of a subject, a driver clip) that lists at least max(K)
source frames, so every K sees the same subjects and drivers:

* **meta**: the meta-learned CHECKPOINT reenacts the driver frames from the pair's
  first K source frames (nested: the K = 1 frame is among the K = 2 ones...);
* **ft** (``ft600``): the checkpoint is first fine-tuned on those K frames with the
  fine-tuning config (each frame a target with the other K - 1 as sources; K = 1
  reconstructs its one frame) for ``--ft-iters`` iterations, then evaluated alike.

The evaluation config's identity and pose metrics (``IdentitySimilarity``,
``PoseExpressionError``) are computed per pair; the JSON holds every pair's numbers
and their mean and standard deviation per K; the PNG (beside the JSON) plots CSIM
and pose error against K, meta dotted, fine-tuned solid, mean +- one standard
deviation over the pairs as transparent bands.
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Sequence

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = 'configs/evaluation/head2head_cross-identity_talking-heads-512.py'
DEFAULT_FT_CONFIG = 'configs/head2head/head2head_aligner_lpd-arcface-r100_1xb1-ft600_subject-512.py'
CURVE_METRICS = ('IdentitySimilarity', 'PoseExpressionError')
PLOTTED = (('CSIM', 'CSIM to the sources (higher is better)'),
           ('pose_error', 'pose error, degrees (lower is better)'))


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='K-shot curves, meta-learned vs fine-tuned')
    parser.add_argument('checkpoint', help='meta-learned stage-1 checkpoint')
    parser.add_argument('--config', default=DEFAULT_CONFIG, help='stage-1 evaluation config')
    parser.add_argument('--shots', type=int, nargs='+', default=[1, 2, 4, 8, 16, 32])
    parser.add_argument('--ft-config', default=DEFAULT_FT_CONFIG, help='fine-tuning config')
    parser.add_argument('--ft-iters', type=int, default=600, help='fine-tuning iterations')
    parser.add_argument('--no-finetune', action='store_true', help='meta-learned curve only')
    parser.add_argument('--max-pairs', type=int, default=0, help='first N usable pairs (0: all)')
    parser.add_argument('--max-driver-frames', type=int, default=0,
                        help='evenly spaced driver frames per pair (0: all)')
    parser.add_argument('--work-dir', default='work_dirs/kshot_eval')
    parser.add_argument('--out', help='JSON path (default WORK_DIR/kshot.json); PNG beside it')
    parser.add_argument('--device', default='auto', help="'auto', 'cpu', 'cuda'...")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the evaluation config')
    parser.add_argument('--ft-cfg-options', nargs='+', action=DictAction,
                        help='override settings of the fine-tuning config')
    return parser.parse_args(argv)


# ------------------------------------------------------------------ the split
def usable_pairs(dataset_cfg: dict, need: int, max_pairs: int, max_frames: int) -> List[dict]:
    """Pairs of the split with at least ``need`` source frames, drivers thinned out."""
    from headswap.utils.cli import UserError
    path = dataset_cfg['split_file']
    if not osp.isabs(path) and not osp.isfile(path):
        path = osp.join(dataset_cfg.get('data_root', ''), path)
    if not osp.isfile(path):
        raise UserError(f'{dataset_cfg["split_file"]}: no such split file; make one with '
                        'tools/dataset_converters/make_splits.py')
    with open(path) as f:
        split = json.load(f)
    pairs = []
    for n, pair in enumerate(split.get('pairs', [])):
        if len(pair.get('source_frames', [])) < need:
            continue
        frames = list(pair['driver_frames'])
        if 0 < max_frames < len(frames):
            picks = np.round(np.linspace(0, len(frames) - 1, max_frames)).astype(int)
            frames = [frames[i] for i in sorted(set(picks.tolist()))]
        pairs.append(dict(pair, driver_frames=frames, index=n))
        if max_pairs and len(pairs) == max_pairs:
            break
    if not pairs:
        raise UserError(f'{path}: no pair lists K={need} source frames; lower the largest '
                        '--shots or remake the split with more --max-sources')
    return pairs


def write_pair_split(pair: dict, meta: dict, path: str) -> str:
    with open(path, 'w') as f:
        json.dump(dict(metainfo=meta, pairs=[pair]), f)
    return path


def write_subject_index(data_root: str, ann_file: str, refs: Sequence[str], out_dir: str) -> str:
    """An ``index.json`` holding only the frames ``refs`` (absolute paths), for fine-tuning."""
    from headswap.datasets.talking_head_split_dataset import frame_ref
    with open(osp.join(data_root, ann_file)) as f:
        index = json.load(f)
    wanted = set(refs)
    entries = []
    for d in index['data_list']:
        if frame_ref(d['identity'], d['video'], d['clip'], d['frame']) in wanted:
            d = dict(d, img_path=osp.abspath(osp.join(data_root, d['img_path'])))
            if d.get('parsing_path'):
                d['parsing_path'] = osp.abspath(osp.join(data_root, d['parsing_path']))
            entries.append(d)
    os.makedirs(out_dir, exist_ok=True)
    with open(osp.join(out_dir, 'index.json'), 'w') as f:
        json.dump(dict(metainfo=index.get('metainfo', {}), data_list=entries), f)
    return out_dir


# ------------------------------------------------------------------ models
def load_meta_model(cfg, checkpoint: str, device: str):
    from mmengine.runner import load_checkpoint

    from headswap.registry import MODELS
    from headswap.utils.checkpoint import check_checkpoint_fits
    model = MODELS.build(copy.deepcopy(cfg.model))
    check_checkpoint_fits(model, checkpoint)
    load_checkpoint(model, checkpoint, map_location='cpu', strict=False, logger='current')
    return model.to(device).eval()


def finetune(args, checkpoint: str, subject_dir: str, k: int, work_dir: str):
    """The checkpoint fine-tuned on the K frames in ``subject_dir`` (a Runner, as train.py)."""
    from mmengine.runner import Runner

    from headswap.utils.config import load_config, memoize_config_formatting
    from headswap.utils.config_keys import merge_cfg_options
    cfg = load_config(args.ft_config)
    merge_cfg_options(cfg, args.ft_cfg_options, '--ft-cfg-options')
    cfg.train_dataloader.dataset.update(
        data_root=subject_dir, ann_file='index.json', source_scope='identity',
        num_sources=max(k - 1, 1), exclude_target=k > 1, on_small_pool='error')
    cfg.load_from, cfg.resume, cfg.work_dir = checkpoint, False, work_dir
    cfg.train_cfg.max_iters = args.ft_iters
    cfg.train_cfg.val_interval = args.ft_iters + 1
    never = args.ft_iters + 1
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=never, by_epoch=False,
                                        save_last=False)
    cfg.default_hooks.visualization = dict(type='ImageGridHook', interval=never)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=max(args.ft_iters // 4, 1))
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.launcher = 'none'
    cfg.log_level = 'WARNING'  # one Runner per (pair, K): keep the config dumps out
    cfg.experiment_name = f'ft_k{k}_{osp.basename(work_dir)}_{time.time_ns()}'
    if args.device == 'cpu':
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    memoize_config_formatting()  # the Runner formats its config several times
    runner = Runner.from_cfg(cfg)
    runner.train()
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    return model.eval()


def evaluate(model, cfg, metrics, split_path: str, k: int) -> Dict[str, float]:
    """The metrics of ``model`` on one pair's split with K sources."""
    import torch
    from mmengine.dataset import pseudo_collate
    from torch.utils.data import DataLoader

    from headswap.registry import DATASETS
    dataset_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    dataset_cfg.update(split_file=split_path, num_sources=k)
    dataset = DATASETS.build(dataset_cfg)
    loader = DataLoader(dataset, batch_size=cfg.test_dataloader.get('batch_size', 1),
                        shuffle=False, collate_fn=pseudo_collate, num_workers=0)
    with torch.no_grad():
        for batch in loader:
            metrics.process(data_samples=model.test_step(batch), data_batch=batch)
    return metrics.evaluate(len(dataset))


# ------------------------------------------------------------------ results
def summarise(per_pair: List[Dict[str, float]]) -> dict:
    keys = sorted({k for row in per_pair for k in row})
    values = {k: np.array([row[k] for row in per_pair if k in row], np.float64) for k in keys}
    return dict(mean={k: float(v.mean()) for k, v in values.items()},
                std={k: float(v.std()) for k, v in values.items()},
                per_pair=per_pair)


def plot(results: dict, shots: Sequence[int], path: str, title: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    styles = dict(meta=dict(ls=':', marker='o', color='#1f77b4', label='meta-learned'),
                  ft=dict(ls='-', marker='s', color='#d62728',
                          label=f'fine-tuned ({results.get("ft_iters", "")} iters)'))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=150)
    for ax, (key, label) in zip(axes, PLOTTED):
        for mode in ('meta', 'ft'):
            curve = results['curves'].get(mode)
            if not curve:
                continue
            ks = [k for k in shots if key in curve[str(k)]['mean']]
            mean = np.array([curve[str(k)]['mean'][key] for k in ks])
            std = np.array([curve[str(k)]['std'][key] for k in ks])
            style = styles[mode]
            ax.plot(ks, mean, ls=style['ls'], marker=style['marker'], color=style['color'],
                    lw=2, ms=5, label=style['label'])
            ax.fill_between(ks, mean - std, mean + std, color=style['color'], alpha=0.15,
                            lw=0)
        ax.set_xscale('log', base=2)
        ax.set_xticks(list(shots))
        ax.set_xticklabels([str(k) for k in shots])
        ax.set_xlabel('K (source shots)')
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.ticklabel_format(axis='y', useOffset=False)  # plain values, not 1e-5 + 0.9999
        ax.legend(frameon=False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None) -> None:
    args = parse_args(argv)
    sys.path.insert(0, ROOT)
    from headswap.utils.cli import UserError, friendly_errors
    with friendly_errors('kshot_eval.py'):
        from mmengine.evaluator import Evaluator

        from headswap.models.frozen.openmmlab_scope import resolve_device
        from headswap.utils import register_all_modules
        from headswap.utils.config import load_config
        from headswap.utils.config_keys import merge_cfg_options
        register_all_modules(init_default_scope=True)
        shots = sorted(set(args.shots))
        if shots[0] < 1:
            raise UserError(f'--shots must be >= 1, got {args.shots}')
        if not osp.isfile(args.checkpoint):
            raise UserError(f'{args.checkpoint}: no such checkpoint file')
        cfg = load_config(args.config)
        merge_cfg_options(cfg, args.cfg_options)
        device = resolve_device(args.device)
        out = args.out or osp.join(args.work_dir, 'kshot.json')
        os.makedirs(args.work_dir, exist_ok=True)
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)

        dataset_cfg = cfg.test_dataloader.dataset
        pairs = usable_pairs(dataset_cfg, shots[-1], args.max_pairs, args.max_driver_frames)
        metric_cfgs = [m for m in cfg.test_evaluator if m['type'] in CURVE_METRICS]
        if not metric_cfgs:
            raise UserError(f'{args.config}: test_evaluator has none of {CURVE_METRICS}')
        metrics = Evaluator([copy.deepcopy(m) for m in metric_cfgs])
        meta_model = load_meta_model(cfg, args.checkpoint, device)

        per_mode = {'meta': {k: [] for k in shots}}
        if not args.no_finetune:
            per_mode['ft'] = {k: [] for k in shots}
        for n, pair in enumerate(pairs):
            split = write_pair_split(pair, dict(protocol='kshot'),
                                     osp.join(args.work_dir, f'pair{pair["index"]}.json'))
            for k in shots:
                row = evaluate(meta_model, cfg, metrics, split, k)
                per_mode['meta'][k].append(row)
                print(f'pair {n + 1}/{len(pairs)} K={k} meta: '
                      f'{json.dumps({m: round(v, 4) for m, v in row.items()})}', flush=True)
                if args.no_finetune:
                    continue
                tag = f'pair{pair["index"]}_k{k}'
                subject = write_subject_index(
                    dataset_cfg['data_root'], dataset_cfg.get('ann_file', 'index.json'),
                    pair['source_frames'][:k], osp.join(args.work_dir, 'subjects', tag))
                tuned = finetune(args, args.checkpoint, subject, k,
                                 osp.join(args.work_dir, 'finetune', tag)).to(device)
                row = evaluate(tuned, cfg, metrics, split, k)
                per_mode['ft'][k].append(row)
                print(f'pair {n + 1}/{len(pairs)} K={k} ft: '
                      f'{json.dumps({m: round(v, 4) for m, v in row.items()})}', flush=True)
                del tuned

        results = dict(config=args.config, checkpoint=args.checkpoint,
                       ft_config=None if args.no_finetune else args.ft_config,
                       ft_iters=None if args.no_finetune else args.ft_iters, shots=shots,
                       pairs=[dict(index=p['index'], source_clips=p['source_clips'],
                                   driver_clip=p['driver_clip'],
                                   driver_frames=len(p['driver_frames'])) for p in pairs],
                       curves={mode: {str(k): summarise(rows) for k, rows in by_k.items()}
                               for mode, by_k in per_mode.items()})
        with open(out, 'w') as f:
            json.dump(results, f, indent=1)
        png = osp.splitext(out)[0] + '.png'
        plot(results, shots, png, f'{osp.splitext(osp.basename(args.config))[0]}, '
                                  f'{osp.basename(args.checkpoint)}: {len(pairs)} pairs, '
                                  'mean \u00b1 std over pairs')
        print(f'{out}\n{png}')
        header = '| K | ' + ' | '.join(f'{mode} {key}' for mode in per_mode
                                       for key, _ in PLOTTED) + ' |'
        print(header + '\n|' + ' --- |' * (1 + len(per_mode) * len(PLOTTED)))
        for k in shots:
            cells = [f'{results["curves"][mode][str(k)]["mean"].get(key, float("nan")):.4f} '
                     f'+- {results["curves"][mode][str(k)]["std"].get(key, float("nan")):.4f}'
                     for mode in per_mode for key, _ in PLOTTED]
            print(f'| {k} | ' + ' | '.join(cells) + ' |')


if __name__ == '__main__':
    main()
