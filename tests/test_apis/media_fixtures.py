"""Real-sample media for the inference tests: scenes with the bundled faces, short clips with
an audio track (PyAV), and damaged files."""
import fractions
import os.path as osp
from typing import List, Optional, Sequence

import av
import cv2
import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CARPHONE = osp.join(ROOT, 'data/sample/frames/carphone/pristine/00001')
ASTRONAUT = osp.join(ROOT, 'data/sample/frames/astronaut/photos/00000/000000.jpg')


def sample_frame(index: int = 0) -> np.ndarray:
    """A 512x512 RGB crop of the bundled carphone clip (every 3rd frame: 0, 3, ...)."""
    img = cv2.imread(osp.join(CARPHONE, f'{index:06d}.jpg'), cv2.IMREAD_COLOR)
    return np.ascontiguousarray(img[..., ::-1])


def astronaut() -> np.ndarray:
    return np.ascontiguousarray(cv2.imread(ASTRONAUT, cv2.IMREAD_COLOR)[..., ::-1])


def scene(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A smooth, face-free background (a colour gradient with a little texture)."""
    rng = np.random.default_rng(seed)
    w, h = max(2, width // 8), max(2, height // 8)  # made small, then enlarged (fast at 8K)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([80 + 100 * xs / w, 120 + 60 * ys / h, 160 - 80 * xs / w], -1)
    img = cv2.resize(img + rng.normal(0, 6, img.shape).astype(np.float32), (width, height),
                     interpolation=cv2.INTER_LINEAR)
    return np.clip(img, 0, 255).astype(np.uint8)


def paste(canvas: np.ndarray, face: np.ndarray, x: int, y: int, side: int) -> np.ndarray:
    out = canvas.copy()
    out[y:y + side, x:x + side] = cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA)
    return out


def talking_clip(num: int = 12, width: int = 192, height: int = 144, side: int = 112,
                 empty: Sequence[int] = ()) -> List[np.ndarray]:
    """Frames of the real carphone face moving over a scene; ``empty`` frames have no face."""
    bg = scene(width, height)
    frames = []
    for t in range(num):
        if t in empty:
            frames.append(bg.copy())
            continue
        x = 20 + int(round(30 * t / max(1, num - 1)))
        frames.append(paste(bg, sample_frame(3 * (t % 40)), x, 10, side))
    return frames


def write_clip(path: str, frames: Sequence[np.ndarray], fps: int = 25, audio: bool = True,
               faststart: bool = False, codec: str = 'libx264') -> str:
    """Encode ``frames`` (and a 440 Hz AAC tone as long as the video)."""
    options = {'movflags': 'faststart'} if faststart else {}
    h, w = frames[0].shape[:2]
    with av.open(path, 'w', options=options) as c:
        v = c.add_stream(codec, rate=fps)
        v.width, v.height = w, h
        v.pix_fmt = 'yuv420p' if codec == 'libx264' else 'rgb24'
        v.options = {'crf': '12'} if codec == 'libx264' else {}
        a = None
        if audio:
            a = c.add_stream('aac', rate=44100)
            a.layout = 'mono'
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(f, format='rgb24')
            vf.pts = i
            vf.time_base = fractions.Fraction(1, fps)
            c.mux(v.encode(vf))
        c.mux(v.encode(None))
        if a is not None:
            n = int(44100 * len(frames) / fps)
            tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(n) / 44100)).astype(np.float32)
            for start in range(0, n, 1024):
                chunk = tone[start:start + 1024]
                af = av.AudioFrame.from_ndarray(chunk[None], format='flt', layout='mono')
                af.sample_rate = 44100
                af.pts = start
                c.mux(a.encode(af))
            c.mux(a.encode(None))
    return path


def probe(path: str) -> dict:
    """Frame count, frame rate, size and whether an audio stream exists."""
    with av.open(path) as c:
        v = c.streams.video[0]
        frames = sum(1 for _ in c.decode(v))
        return dict(frames=frames, fps=v.average_rate, size=(v.width, v.height),
                    audio=bool(c.streams.audio))


def decode(path: str, limit: Optional[int] = None) -> List[np.ndarray]:
    with av.open(path) as c:
        out = []
        for f in c.decode(video=0):
            out.append(f.to_ndarray(format='rgb24'))
            if limit and len(out) >= limit:
                break
        return out


def audio_track(path: str):
    """The first audio stream decoded to mono float32 samples: ``(samples, sample rate)``."""
    with av.open(path) as c:
        stream = c.streams.audio[0]
        chunks = [f.to_ndarray().astype(np.float32).reshape(len(f.layout.channels), -1).mean(0)
                  for f in c.decode(stream)]
        return np.concatenate(chunks), stream.rate


def assert_same_audio(out: str, src: str, frame_samples: int = 1024) -> None:
    """``out`` carries ``src``'s audio: the same rate, as long (to one AAC frame), same samples."""
    got, rate = audio_track(out)
    want, src_rate = audio_track(src)
    assert rate == src_rate
    assert abs(len(got) - len(want)) <= frame_samples, (len(got), len(want), rate)
    n = min(len(got), len(want))
    assert np.abs(want[:n]).max() > 0.1  # the source has a tone, not silence
    np.testing.assert_allclose(got[:n], want[:n], atol=1e-3)


def watermark_bound(height: int, width: int) -> int:
    """The largest change the watermark can make to a pixel of a ``height x width`` frame
    (8-bit levels): its ``max_bound`` (strong texture; ``flat_bound`` on flat areas), plus one
    for rounding the swapped pixels."""
    from headswap.provenance.api import get_watermarker
    return int(np.ceil(get_watermarker().max_bound)) + 1
