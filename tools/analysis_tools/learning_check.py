"""Does training learn? Train the stages for a fixed wall-clock budget, score held-out frames.

    python tools/analysis_tools/learning_check.py [--stages 1 2] [--budget 600]
        [--out work_dirs/learning_check] [--stage1-config CONFIG] [--stage2-config CONFIG]
        [--data-root data/sample] [--hold-out-every 4] [--amp] [--parallel]
        [--cfg-options1 k=v ...] [--cfg-options2 k=v ...]

Every ``--hold-out-every``-th frame of each clip with at least 8 frames is held out; the
stages train on the others through the Runner (the configs' own optimisers, hooks and
settings) until ``--budget`` seconds of training have passed (``TimeBudgetHook``) or the
config's schedule ends (its ``max_iters``), whichever comes first, then:

* **stage 1**, self-reenactment of the held-out frames: sources are K training frames of the
  same video, the driver is the held-out frame, the frame itself is the target. Scored for
  the raw generator and its EMA: PSNR and SSIM in the head region (the union of the target's
  and the output's head masks; the whole image too), the landmark distance between output
  and driver (AKD: mean distance of the 68 points over the driver's inter-ocular distance,
  offline MediaPipe face mesh; over the drivers on which the landmarker finds a face,
  ``landmarks_kept``, and over all of them, ``akd_all``), mouth opening (inner lips over
  the inter-ocular distance, and its correlation with the driver's), the driver
  sensitivity (spread of the outputs over the spread of their targets) and how many
  outputs are nearest their own target.
* **stage 2**, reconstruction of the held-out frames from the head synthesised as in
  training (seeded), scored by PSNR / SSIM on the whole image and inside the edited region.

Each is printed beside trivial baselines measured in the same run on the same frames: the
**mean face** (per-pixel mean of the training targets) and, for stage 2, the **paste**
(synthesised head and scene put together with no blending, the hole filled with the scene's
mean colour). Stage 1 also gets a ceiling, the **nearest train frame (oracle)**: for each
held-out target, the training frame of its video closest to it (chosen by looking at the
target), which is what a model that memorised the training frames and always picked the right
one would score; and rows for **training drivers** (as many training frames, each reenacted
from other training frames): a model that follows the drivers it was trained on but not new
ones is memorising, not generalising. ``source_sensitivity`` (raw and EMA rows) is the
spread of the outputs for one held-out driver over 8 random source sets, on
``driver_sensitivity``'s scale: what the outputs follow when they vary. Image grids (driver,
outputs, target, baselines) go to ``OUT/stage*/``; the numbers to ``OUT/report.json`` and
``OUT/report.md``; the stage-1 held-out images (uint8 drivers, targets, outputs and masks) to
``OUT/stage1/stage1_held_out.npz``.

``--parallel`` trains both stages at once in two processes (one GPU has room for both). On a
CPU use tiny configs, e.g. ``--stage1-config configs/head2head/head2head_aligner_tiny_...``.
"""
import argparse
import contextlib
import copy
import json
import os
import os.path as osp
import subprocess
import sys
import time
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import DictAction

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from headswap.face.quality import PREPARATION_THRESHOLDS  # noqa: E402
from headswap.utils.cli import UserError, friendly_errors  # noqa: E402

DEFAULT_CONFIGS = {1: 'configs/head2head_aligner.py', 2: 'configs/head2scene_blender.py'}
INNER_LIP_MID = (62, 66)  # iBUG 68: middle of the upper and lower inner lip
# the landmarker's score below which it did not find a face on a driver: the data tools'
# preparation.min_landmark_score (such frames are dropped from prepared data)
MIN_DRIVER_SCORE = PREPARATION_THRESHOLDS['min_landmark_score']


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--stages', type=int, nargs='+', default=[1, 2], choices=[1, 2])
    p.add_argument('--budget', type=float, default=600.0,
                   help='seconds of training per stage (start-up included); a config whose '
                   'max_iters come first stops there')
    p.add_argument('--out', default='work_dirs/learning_check')
    p.add_argument('--stage1-config', default=DEFAULT_CONFIGS[1])
    p.add_argument('--stage2-config', default=DEFAULT_CONFIGS[2])
    p.add_argument('--data-root', default='data/sample')
    p.add_argument('--hold-out-every', type=int, default=4,
                   help='hold out every N-th frame of each clip of >= 8 frames')
    p.add_argument('--num-sources', type=int, default=4, help='K of the stage-1 evaluation')
    p.add_argument('--amp', action='store_true', help='bf16 autocast (as tools/train.py --amp)')
    p.add_argument('--random-weights', action='store_true',
                   help='run the frozen VGG-19 / ArcFace with random weights instead of the '
                   "configs' checkpoint files (for machines without them; the losses still "
                   'train, identity terms mean little)')
    p.add_argument('--parallel', action='store_true',
                   help='train the stages at the same time in two processes')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--cfg-options1', nargs='+', action=DictAction, default={},
                   help='overrides of the stage-1 config')
    p.add_argument('--cfg-options2', nargs='+', action=DictAction, default={},
                   help='overrides of the stage-2 config')
    p.add_argument('--tile', type=int, default=192, help='side of a grid tile in pixels')
    p.add_argument('--train-only', action='store_true',
                   help='stop after training (its checkpoint is in OUT/stage*/); evaluate '
                   'later with the same arguments plus --cfg-options1 resume=True --budget 1 '
                   '(a 10-minute training when one command may run 10 minutes)')
    return p.parse_args(argv)


# ------------------------------------------------------------------------------- data
def split_index(data_root: str, every: int, out_dir: str) -> Tuple[str, str, dict]:
    """Write ``train.json`` / ``held_out.json`` index files; returns their paths and a summary.

    Frames are grouped by clip and ordered by frame number; in clips of >= 8 frames every
    ``every``-th frame (starting at ``every // 2``) is held out. Shorter clips and single
    photos stay in training.
    """
    if every < 2:
        raise UserError(f'--hold-out-every must be >= 2, got {every}')
    path = osp.join(data_root, 'index.json')
    if not osp.isfile(path):
        raise UserError(f'{path}: no such file; --data-root must be a prepared dataset '
                        '(tools/dataset_converters/prepare_talking_heads.py)')
    with open(path) as f:
        index = json.load(f)
    clips: Dict[tuple, List[dict]] = defaultdict(list)
    for row in index['data_list']:
        clips[(row['identity'], row['video'], row['clip'])].append(row)
    train, held = [], []
    for rows in clips.values():
        rows = sorted(rows, key=lambda r: r['frame'])
        for i, row in enumerate(rows):
            (held if len(rows) >= 8 and i % every == every // 2 else train).append(row)
    if not held:
        raise UserError(f'{path}: no clip has 8 or more frames, nothing to hold out')
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for name, rows in (('train', train), ('held_out', held)):
        p = osp.abspath(osp.join(out_dir, f'{name}.json'))
        with open(p, 'w') as f:
            json.dump(dict(metainfo=index['metainfo'], data_list=rows), f)
        paths.append(p)
    # which landmarks the data gives the generator (runs on differently prepared data are
    # not comparable): the preparation settings that decide them, and how many frames have
    # the reading of their mirror (what the training flip uses)
    prep = index['metainfo'].get('preparation', {})
    rows = index['data_list']
    landmarks = {k: prep.get(k) for k in ('landmarks_on_crop', 'mirrored_landmarks')}
    landmarks['with_mirrored_reading'] = (f'{sum("landmarks_mirrored" in r for r in rows)}/'
                                          f'{len(rows)}')
    summary = dict(train_frames=len(train), held_out_frames=len(held), landmarks=landmarks,
                   held_out=[f'{r["identity"]}/{r["video"]}/{r["clip"]}/{r["frame"]}'
                             for r in held])
    return paths[0], paths[1], summary


def load_frames(data_root: str, rows: Sequence[dict], size: int
                ) -> Tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """uint8 ``(N, 3, S, S)`` frames, float ``(N, 1, S, S)`` head masks and ``(N, 68, 2)``
    landmarks (scaled to ``size``)."""
    import cv2

    from headswap.structures.face_labels import head_mask
    from headswap.utils.media_io import imread_labels, imread_rgb
    imgs, masks, lmks = [], [], []
    for r in rows:
        img = imread_rgb(osp.join(data_root, r['img_path']))
        lab = imread_labels(osp.join(data_root, r['parsing_path']))
        if img is None or lab is None:
            raise UserError(f'{osp.join(data_root, r["img_path"])}: unreadable frame or parsing')
        scale = size / img.shape[0]
        if img.shape[0] != size:
            img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
            lab = cv2.resize(lab, (size, size), interpolation=cv2.INTER_NEAREST)
        imgs.append(img)
        masks.append(head_mask(lab).astype(np.float32))
        lmks.append(np.asarray(r.get('landmarks', np.zeros((68, 2))), np.float32) * scale)
    return (torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).contiguous(),
            torch.from_numpy(np.stack(masks))[:, None], np.stack(lmks))


# ------------------------------------------------------------------------------ train
FROZEN_WEIGHTS = ('vgg', 'identity_encoder')


def training_config(config: str, ann_file: str, data_root: str, work_dir: str, amp: bool,
                    seed: int, cfg_options: dict, random_weights: bool = False,
                    flag: str = '--cfg-options'):
    """``config`` set up to train on ``ann_file`` with no validation, test or regular
    checkpoints; it stops at the config's ``max_iters`` (the end of its schedule) unless
    the caller stops it first (a ``TimeBudgetHook``)."""
    from headswap.utils.config import apply_precision, load_config
    from headswap.utils.config_keys import merge_cfg_options
    cfg = load_config(config)
    if random_weights:
        for name in FROZEN_WEIGHTS:
            if isinstance(cfg.model.get(name), dict):
                cfg.model[name].checkpoint = None
    merge_cfg_options(cfg, cfg_options, flag)
    apply_precision(cfg, amp)
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    cfg.train_dataloader.dataset.data_root = data_root
    cfg.train_dataloader.dataset.ann_file = ann_file
    # a run past the schedule's end leaves the method: the ten-minute sample config's
    # learning rate is at its floor there and its adversarial terms start
    cfg.train_cfg.max_iters = int(cfg.train_cfg.get('max_iters') or 10**9)
    cfg.train_cfg.val_interval = 10**9
    for key in ('val_cfg', 'val_dataloader', 'val_evaluator', 'test_cfg', 'test_dataloader',
                'test_evaluator'):
        cfg[key] = None
    cfg.default_hooks.checkpoint.interval = 10**9
    cfg.randomness = dict(seed=seed, diff_rank_seed=False, deterministic=False)
    return cfg


def train_stage(config: str, ann_file: str, data_root: str, work_dir: str, budget: float,
                amp: bool, seed: int, cfg_options: dict, random_weights: bool = False,
                flag: str = '--cfg-options'):
    """Train ``config`` on ``ann_file`` for ``budget`` seconds; returns (model, cfg, stats)."""
    from headswap.engine.hooks import TimeBudgetHook
    from headswap.utils.config import build_runner
    cfg = training_config(config, ann_file, data_root, work_dir, amp, seed, cfg_options,
                          random_weights, flag)
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='TimeBudgetHook', seconds=budget)]
    runner = build_runner(cfg)
    start = time.perf_counter()
    model = runner.train()
    seconds = time.perf_counter() - start
    iters = runner.iter
    # after a resume, the rate counts this run's iterations only
    first = next(h.start_iter for h in runner.hooks if isinstance(h, TimeBudgetHook))
    model = model.module if hasattr(model, 'module') else model
    model.eval()
    return model, cfg, dict(iterations=iters, resumed_from=first, train_seconds=round(seconds, 1),
                            iters_per_s=round((iters - first) / max(seconds, 1e-9), 2))


# --------------------------------------------------------------------------- metrics
def _region_psnr(pred: torch.Tensor, gt: torch.Tensor, region: torch.Tensor) -> float:
    from headswap.evaluation.functional import psnr
    return psnr(pred, gt, region if region.any() else None)


def _box_ssim(pred: torch.Tensor, gt: torch.Tensor, region: torch.Tensor) -> float:
    """SSIM over the bounding box of ``region`` (at least 16 px a side)."""
    from headswap.evaluation.functional import ssim
    ys, xs = torch.nonzero(region, as_tuple=True)
    if len(ys) == 0:
        return ssim(pred, gt)
    h, w = region.shape
    y0, y1 = int(ys.min()), int(ys.max()) + 1
    x0, x1 = int(xs.min()), int(xs.max()) + 1
    y1, x1 = max(y1, min(h, y0 + 16)), max(x1, min(w, x0 + 16))
    return ssim(pred[:, y0:y1, x0:x1], gt[:, y0:y1, x0:x1])


class LandmarkScorer:
    """68 landmarks of aligned crops (PoseExpressionError's protocol) and the comparisons."""

    def __init__(self, crop_scale: float):
        from headswap.evaluation.metrics import PoseExpressionError
        self.metric = PoseExpressionError(crop_scale=crop_scale)

    def __call__(self, images: torch.Tensor) -> Tuple[np.ndarray, np.ndarray]:
        """``(N, 68, 2)`` points and the landmarker's ``(N,)`` scores (face found or not)."""
        return self.metric.landmarks(list(images))

    @staticmethod
    def mouth_opening(points: np.ndarray) -> np.ndarray:
        from headswap.evaluation.functional import inter_ocular_distance
        a, b = INNER_LIP_MID
        return np.array([np.linalg.norm(p[a] - p[b]) / max(inter_ocular_distance(p), 1e-6)
                         for p in points])

    def akd(self, pred: np.ndarray, driver: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
        return np.array([self.metric.compare(p, d, size)['akd'] for p, d in zip(pred, driver)])


def _corr(a: np.ndarray, b: np.ndarray) -> Optional[float]:
    if len(a) < 3 or np.std(a) < 1e-6 or np.std(b) < 1e-6:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def score_stage1(outputs: torch.Tensor, out_masks: torch.Tensor, targets: torch.Tensor,
                 tgt_masks: torch.Tensor, scorer: Optional[LandmarkScorer],
                 driver_landmarks: Optional[Tuple[np.ndarray, np.ndarray]]) -> dict:
    """Scores of uint8 ``(N, 3, S, S)`` outputs against their targets and drivers.

    The landmark scores (AKD, mouth opening) count the drivers on which the landmarker
    finds a face (its score >= ``MIN_DRIVER_SCORE``; ``landmarks_kept``): on a driver it
    cannot read, the distance to its points says nothing about the output. ``akd_all``
    is the mean over every driver. Which drivers count depends on the drivers alone."""
    from headswap.models.aligners.diagnostics import driver_sensitivity
    n, size = len(outputs), outputs.shape[-1]
    regions = (out_masks[:, 0] > 0.5) | (tgt_masks[:, 0] > 0.5)
    psnr_head = [_region_psnr(outputs[i], targets[i], regions[i]) for i in range(n)]
    psnr_whole = [_region_psnr(outputs[i], targets[i], torch.ones_like(regions[i]))
                  for i in range(n)]
    ssim_head = [_box_ssim(outputs[i], targets[i], regions[i]) for i in range(n)]
    dist = (outputs.float()[:, None] - targets.float()[None]).abs().mean((2, 3, 4))
    nearest = int((dist.argmin(1) == torch.arange(n)).sum())
    sens = float(driver_sensitivity(outputs.float(), targets.float())) if n > 1 else None
    out = dict(psnr_head=float(np.mean(psnr_head)), psnr_whole=float(np.mean(psnr_whole)),
               ssim_head=float(np.mean(ssim_head)), akd=None, akd_all=None, landmarks_kept=None,
               mouth_abs_error=None, mouth_corr=None, driver_sensitivity=sens,
               own_target_nearest=f'{nearest}/{n}')
    # each frame's numbers (report.json only): which drivers the means come from
    per_frame = dict(psnr_head=[round(float(v), 3) for v in psnr_head])
    if scorer is not None:
        points = scorer(outputs)[0]
        driver_points, driver_scores = driver_landmarks
        akd = scorer.akd(points, driver_points, (size, size))
        kept = driver_scores >= MIN_DRIVER_SCORE
        if kept.any():
            mouth = scorer.mouth_opening(points[kept])
            mouth_driver = scorer.mouth_opening(driver_points[kept])
            out.update(akd=float(np.mean(akd[kept])),
                       mouth_abs_error=float(np.mean(np.abs(mouth - mouth_driver))),
                       mouth_corr=_corr(mouth, mouth_driver))
        out.update(akd_all=float(np.mean(akd)), landmarks_kept=f'{int(kept.sum())}/{n}')
        per_frame.update(akd=[round(float(v), 4) for v in akd],
                         driver_landmark_score=[round(float(v), 3) for v in driver_scores])
    out['per_frame'] = per_frame
    return out


def _uint8(x: torch.Tensor) -> torch.Tensor:
    return ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()


def _composite(img: torch.Tensor, mask: torch.Tensor, background: float) -> torch.Tensor:
    """uint8 images inside float masks over a flat background value in [-1, 1]."""
    bg = (background + 1) * 127.5
    return (img.float() * mask + bg * (1 - mask)).round().clamp(0, 255).to(torch.uint8)


@torch.no_grad()
def evaluate_stage1(model, cfg, data_root: str, train_ann: str, held_ann: str, k: int,
                    out_dir: str, tile: int) -> Dict[str, dict]:
    """Self-reenactment of the held-out frames by the raw and the EMA generator."""
    from headswap.structures.pixels import normalize_landmarks
    with open(train_ann) as f:
        train_rows = json.load(f)['data_list']
    with open(held_ann) as f:
        held_rows = json.load(f)['data_list']
    size = model.resolution
    device = next(model.parameters()).device
    head_mode = getattr(model, 'reconstruct', 'frame') == 'head'
    background = getattr(model, 'background', -1.0)
    tr_imgs, tr_masks, tr_lms = load_frames(data_root, train_rows, size)
    h_imgs, h_masks, h_lms = load_frames(data_root, held_rows, size)
    # drivers' landmarks in [0, 1] (read by a landmark-conditioned generator only)
    tr_lms, h_lms = (normalize_landmarks(torch.from_numpy(lm), size)
                     for lm in (tr_lms, h_lms))
    targets = _composite(h_imgs, h_masks, background) if head_mode else h_imgs
    train_targets = _composite(tr_imgs, tr_masks, background) if head_mode else tr_imgs

    # K evenly spread training frames of the same video are the sources of each driver
    by_video = defaultdict(list)
    for i, r in enumerate(train_rows):
        by_video[(r['identity'], r['video'])].append(i)
    pre = model.data_preprocessor
    variants = {'raw': False}
    if getattr(model, 'ema', None) is not None:
        variants['ema'] = True

    def reenact(rows, imgs, lms, exclude=None):
        """Outputs and masks of every variant for the drivers ``imgs`` (frames of ``rows``)."""
        outputs = {name: ([], []) for name in variants}
        for i, r in enumerate(rows):
            pool = [j for j in by_video[(r['identity'], r['video'])]
                    if exclude is None or j != exclude[i]]
            if not pool:
                raise UserError(f'{r["img_path"]}: no training frame of its video to use as '
                                'source')
            pick = [pool[j] for j in np.linspace(0, len(pool) - 1, min(k, len(pool))).round()
                    .astype(int)]
            src = pre.normalize(tr_imgs[pick].to(device))[None]
            drv = pre.normalize(imgs[i:i + 1].to(device))
            for name, use_ema in variants.items():
                img, mask = model.reenact(src, drv, use_ema, lms[i:i + 1].to(device))
                outputs[name][0].append(_uint8(img))
                outputs[name][1].append(mask.float().cpu())
        return {name: (torch.cat(o), torch.cat(m)) for name, (o, m) in outputs.items()}

    outputs = reenact(held_rows, h_imgs, h_lms)
    # drivers seen in training (sources: other training frames): does it follow those?
    # (frames whose video has other training frames to be the sources)
    usable = [i for i, r in enumerate(train_rows) if len(by_video[(r['identity'], r['video'])]) > 1]
    seen = [usable[j] for j in np.linspace(0, len(usable) - 1, min(len(held_rows), len(usable)))
            .round().astype(int)]
    seen_outputs = reenact([train_rows[i] for i in seen], tr_imgs[seen], tr_lms[seen],
                           exclude=seen)

    try:
        scorer = LandmarkScorer(float(cfg.get('model', {}).get('identity_encoder', {})
                                      .get('crop_scale', 2.0)))
    except Exception as e:  # noqa: BLE001  (the image metrics still mean something)
        print(f'learning_check: no landmark scores ({e})', file=sys.stderr)
        scorer = None
    # the drivers' landmarks by the same landmarker as the outputs' (the index's landmarks
    # come from the preparation's detector and model)
    driver_landmarks = None if scorer is None else scorer(h_imgs)
    results = {}
    grids = [h_imgs]
    arrays = dict(driver=h_imgs, target=targets, target_mask=h_masks)
    for name in variants:
        out, masks = outputs[name]
        results[name] = score_stage1(out, masks, targets, h_masks, scorer, driver_landmarks)
        grids.append(out)
        arrays.update({name: out, f'{name}_mask': masks})
    # the held-out images themselves, to look at or to score again elsewhere
    np.savez_compressed(osp.join(out_dir, 'stage1_held_out.npz'),
                        **{k: v.numpy() for k, v in arrays.items()})
    mean = train_targets.float().mean(0, keepdim=True).round().to(torch.uint8)
    mean_mask = tr_masks.mean(0, keepdim=True)
    n = len(held_rows)
    results['mean face'] = score_stage1(mean.expand(n, -1, -1, -1),
                                        mean_mask.expand(n, -1, -1, -1), targets, h_masks,
                                        scorer, driver_landmarks)
    # an oracle ceiling, not a model: the training frame of the same video closest to each
    # held-out target (chosen by looking at the target); a perfect memoriser of the training
    # frames that picks the right one for every driver scores this
    nearest = []
    for i, r in enumerate(held_rows):
        pool = by_video[(r['identity'], r['video'])]
        err = (train_targets[pool].float() - targets[i:i + 1].float()).pow(2).mean((1, 2, 3))
        nearest.append(pool[int(err.argmin())])
    results['nearest train frame (oracle)'] = score_stage1(
        train_targets[nearest], tr_masks[nearest], targets, h_masks, scorer, driver_landmarks)
    grids += [targets, mean.expand(n, -1, -1, -1), train_targets[nearest]]
    save_grid(grids, osp.join(out_dir, 'stage1_held_out.png'), tile,
              ['driver', *variants, 'target', 'mean face', 'nearest train'])
    # training drivers: reenacted from other training frames (memorised or not)
    seen_targets, seen_masks = train_targets[seen], tr_masks[seen]
    seen_landmarks = None if scorer is None else scorer(tr_imgs[seen])
    for name in variants:
        out, masks = seen_outputs[name]
        results[f'{name}, training drivers'] = score_stage1(out, masks, seen_targets,
                                                            seen_masks, scorer, seen_landmarks)
    save_grid([tr_imgs[seen], *(seen_outputs[name][0] for name in variants), seen_targets],
              osp.join(out_dir, 'stage1_training_drivers.png'), tile,
              ['driver', *variants, 'target'])
    # what the outputs vary with: one held-out driver, 8 random source sets, their spread
    # over the held-out targets' spread (driver_sensitivity's yardstick). Outputs that
    # vary with the sources but not the driver spread in training and fool the training
    # log's driver_sensitivity (docs/en/stage1_learning.md)
    pool = by_video[(held_rows[0]['identity'], held_rows[0]['video'])]
    rng = np.random.default_rng(0)
    sets = [rng.choice(pool, min(k, len(pool)), replace=False) for _ in range(8)]
    drv, drv_lms = pre.normalize(h_imgs[:1].to(device)), h_lms[:1].to(device)
    spread = targets.float().std(0).mean().clamp_min(1e-8)
    for name, use_ema in variants.items():
        outs = torch.cat([_uint8(model.reenact(pre.normalize(tr_imgs[list(p)].to(device))[None],
                                               drv, use_ema, drv_lms)[0]) for p in sets])
        results[name]['source_sensitivity'] = float(outs.float().std(0).mean() / spread)
    return results


@torch.no_grad()
def evaluate_stage2(model, cfg, data_root: str, train_ann: str, held_ann: str, out_dir: str,
                    tile: int) -> Dict[str, dict]:
    """Reconstruction of the held-out frames (synthesised heads, seeded as in the tests)."""
    from mmengine.dataset import pseudo_collate

    from headswap.evaluation.functional import psnr, ssim
    from headswap.registry import DATASETS
    ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    test_pipeline = cfg.get('test_pipeline')
    if test_pipeline is None:
        raise UserError('the stage-2 config has no test_pipeline (the synthesis of I_A for '
                        'held-out frames)')
    ds_cfg.update(ann_file=held_ann, data_root=data_root, test_mode=True,
                  pipeline=test_pipeline)
    dataset = DATASETS.build(ds_cfg)
    with open(train_ann) as f:
        train_rows = json.load(f)['data_list']
    preds, gts, pastes, edits, heads = [], [], [], [], []
    for i in range(len(dataset)):
        data = model.data_preprocessor(pseudo_collate([dataset[i]]), False)
        inputs = data['inputs']
        out = model.generate(inputs)
        edit, head = out['edit_mask'], out['head_mask']
        img_t, img_a = inputs['target_img'], inputs['head_img']
        keep = 1 - edit
        fill = ((img_t * keep).sum((2, 3), keepdim=True)
                / keep.sum((2, 3), keepdim=True).clamp_min(1))
        paste = keep * img_t + edit * (head * img_a + (1 - head) * fill)
        preds.append(_uint8(out['pred']))
        gts.append(_uint8(img_t))
        pastes.append(_uint8(paste))
        edits.append(edit.cpu() > 0.5)
        heads.append(_uint8(img_a))
    preds, gts, pastes = torch.cat(preds), torch.cat(gts), torch.cat(pastes)
    edits, heads = torch.cat(edits)[:, 0], torch.cat(heads)
    size = gts.shape[-1]
    tr_imgs, _, _ = load_frames(data_root, train_rows, size)
    mean = tr_imgs.float().mean(0, keepdim=True).round().to(torch.uint8).expand_as(gts)

    def score(x: torch.Tensor) -> dict:
        n = len(x)
        return dict(psnr_whole=float(np.mean([psnr(x[i], gts[i]) for i in range(n)])),
                    psnr_edited=float(np.mean([psnr(x[i], gts[i], edits[i]) if edits[i].any()
                                               else psnr(x[i], gts[i]) for i in range(n)])),
                    ssim_whole=float(np.mean([ssim(x[i], gts[i]) for i in range(n)])))

    results = {'blender': score(preds), 'paste': score(pastes), 'mean frame': score(mean)}
    save_grid([heads, pastes, preds, gts], osp.join(out_dir, 'stage2_held_out.png'), tile,
              ['head (input)', 'paste', 'blender', 'target'])
    return results


def save_grid(columns: List[torch.Tensor], path: str, tile: int, names: Sequence[str]) -> None:
    """One row per sample, one column per tensor of uint8 ``(N, 3, H, W)`` images."""
    import cv2
    import torch.nn.functional as F
    rows = []
    for i in range(len(columns[0])):
        cells = [F.interpolate(c[i:i + 1].float(), size=(tile, tile), mode='area')[0]
                 for c in columns]
        rows.append(torch.cat(cells, 2))
    grid = torch.cat(rows, 1).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    header = np.full((24, grid.shape[1], 3), 255, np.uint8)
    for j, name in enumerate(names):
        cv2.putText(header, name, (j * tile + 4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1,
                    cv2.LINE_AA)
    os.makedirs(osp.dirname(path), exist_ok=True)
    tmp = path + '.tmp.png'
    cv2.imwrite(tmp, cv2.cvtColor(np.concatenate([header, grid]), cv2.COLOR_RGB2BGR))
    os.replace(tmp, path)


# ----------------------------------------------------------------------------- report
def _resumed(train: dict) -> str:
    """' (N in this run, from iteration M)' for a resumed training, else ''."""
    first = train.get('resumed_from', 0)
    return f' ({train["iterations"] - first} in this run, from iteration {first})' if first else ''


def _fmt(v) -> str:
    if v is None:
        return '-'
    return f'{v:.3f}' if isinstance(v, float) else str(v)


def markdown(report: dict) -> str:
    lines = [f'# Learning check ({report["split"]["train_frames"]} training frames, '
             f'{report["split"]["held_out_frames"]} held out)', '']
    if report['split'].get('landmarks'):
        lines += ['data landmarks: ' + ', '.join(
            f'{k} {v}' for k, v in report['split']['landmarks'].items()), '']
    for stage in ('stage1', 'stage2'):
        if stage not in report:
            continue
        r = report[stage]
        lines += [f'## {stage}: {r["config"]}', '',
                  f'{r["train"]["iterations"]} iterations{_resumed(r["train"])} in '
                  f'{r["train"]["train_seconds"]} s ({r["train"]["iters_per_s"]} it/s); rows '
                  'are held-out means unless they say otherwise', '']
        keys = [k for k in next(iter(r['results'].values())) if k != 'per_frame']
        lines.append('| output | ' + ' | '.join(keys) + ' |')
        lines.append('| --- ' * (len(keys) + 1) + '|')
        for name, row in r['results'].items():
            lines.append(f'| {name} | ' + ' | '.join(_fmt(row.get(k)) for k in keys) + ' |')
        lines.append('')
    return '\n'.join(lines)


def _log(msg: str) -> None:
    print(f'[learning_check {time.strftime("%H:%M:%S")}] {msg}', flush=True)


@contextlib.contextmanager
def _eval_mode(amp: bool, device: torch.device):
    """No cuDNN autotuning for a handful of evaluation batches (it would take minutes on a
    shared GPU), and the training precision (its kernels are tuned already)."""
    benchmark = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = False
    try:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            yield
    finally:
        torch.backends.cudnn.benchmark = benchmark


def run(args) -> dict:
    from headswap.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    os.makedirs(args.out, exist_ok=True)
    train_ann, held_ann, split = split_index(args.data_root, args.hold_out_every,
                                             osp.join(args.out, 'split'))
    report: dict = dict(split=split, budget_s=args.budget, amp=args.amp,
                        random_weights=args.random_weights)
    for stage in args.stages:
        config = args.stage1_config if stage == 1 else args.stage2_config
        work_dir = osp.join(args.out, f'stage{stage}')
        options = args.cfg_options1 if stage == 1 else args.cfg_options2
        _log(f'stage {stage}: training {config} for {args.budget:.0f} s')
        model, cfg, stats = train_stage(config, train_ann, args.data_root, work_dir,
                                        args.budget, args.amp, args.seed, options,
                                        args.random_weights, f'--cfg-options{stage}')
        if args.train_only:
            _log(f'stage {stage}: {stats["iterations"]} iterations ({stats["iters_per_s"]} '
                 f'it/s); not evaluated (--train-only)')
            report[f'stage{stage}'] = dict(config=config, options=options, train=stats)
            continue
        _log(f'stage {stage}: {stats["iterations"]} iterations; evaluating')
        with _eval_mode(args.amp, next(model.parameters()).device):
            if stage == 1:
                results = evaluate_stage1(model, cfg, args.data_root, train_ann, held_ann,
                                          args.num_sources, work_dir, args.tile)
            else:
                results = evaluate_stage2(model, cfg, args.data_root, train_ann, held_ann,
                                          work_dir, args.tile)
        _log(f'stage {stage}: evaluated')
        report[f'stage{stage}'] = dict(config=config, options=options, train=stats,
                                       results=results)
        del model
    return report


def _run_parallel(args, argv: Sequence[str]) -> dict:
    """Each stage in its own process (same arguments, one stage each); merged report."""
    procs = []
    for stage in args.stages:
        out = osp.join(args.out, f'part{stage}')
        cmd = [sys.executable, osp.abspath(__file__), *_without(argv, ('--stages', '--out',
                                                                       '--parallel')),
               '--stages', str(stage), '--out', out]
        procs.append((stage, out, subprocess.Popen(cmd)))
    report = {}
    for stage, out, proc in procs:
        if proc.wait() != 0:
            raise UserError(f'stage {stage} failed (exit {proc.returncode}); see its log above')
        with open(osp.join(out, 'report.json')) as f:
            part = json.load(f)
        report.setdefault('split', part['split'])
        report.update({k: v for k, v in part.items() if k.startswith('stage')})
        report.update({k: part[k] for k in ('budget_s', 'amp', 'random_weights')})
    return report


def _without(argv: Sequence[str], flags: Sequence[str]) -> List[str]:
    """``argv`` minus the given flags and their values."""
    out, skip = [], False
    for a in argv:
        if a.startswith('--'):
            skip = a.split('=')[0] in flags
            if skip:
                continue
        elif skip:
            continue
        out.append(a)
    return out


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.budget <= 0:
        raise UserError(f'--budget must be > 0 seconds, got {args.budget}')
    if args.parallel and len(args.stages) > 1:
        report = _run_parallel(args, argv)
    else:
        report = run(args)
    os.makedirs(args.out, exist_ok=True)
    with open(osp.join(args.out, 'report.json'), 'w') as f:
        json.dump(report, f, indent=1)
    if args.train_only:
        return 0
    text = markdown(report)
    with open(osp.join(args.out, 'report.md'), 'w') as f:
        f.write(text + '\n')
    print(text)
    return 0


if __name__ == '__main__':
    with friendly_errors('learning_check'):
        sys.exit(main())
