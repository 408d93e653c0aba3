"""The frame pipeline: decode -> detect -> landmarks -> smooth -> align (+ CPU parse) ->
stage 1 -> stage 2 -> paste back -> watermark, over batches of one target's frames.

Each step is a generator over :class:`FrameBatch` es; :meth:`FramePipeline.run` chains them
through :func:`headswap.utils.stages.run_stages`, in one thread (images) or overlapped in
threads with bounded queues (videos), so no frame is held twice and CPU and GPU work at the
same time. The device steps call the :class:`~headswap.models.swappers.HeadSwapper`'s
per-stage methods (``animate``, ``parse_head``, ``blend``).
"""
import contextlib
import math
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch

from headswap.structures.pixels import to_uint8
from headswap.utils.stages import StageTimer, run_stages
from .face_selection import FaceSelector
from .paste_back import feather_mask, paste_back
from .temporal import StreamingSmoother
from .writers import colorize

__all__ = ['FrameBatch', 'FramePipeline', 'chunks']


@dataclass
class FrameBatch:
    """Frames of one target travelling through the stages (per-frame lists)."""
    indices: List[int]
    frames: List[np.ndarray]
    faces: List[Optional[Tuple[np.ndarray, Optional[np.ndarray]]]] = field(default_factory=list)
    reasons: List[str] = field(default_factory=list)
    landmarks: List[Optional[np.ndarray]] = field(default_factory=list)
    matrices: List[Optional[np.ndarray]] = field(default_factory=list)
    crops: List[Optional[np.ndarray]] = field(default_factory=list)
    crop_landmarks: List[Optional[np.ndarray]] = field(default_factory=list)
    parsings: List[Optional[np.ndarray]] = field(default_factory=list)
    output: Optional[np.ndarray] = None                       # (N, H, W, 3) uint8
    saved: Dict[int, Dict[str, np.ndarray]] = field(default_factory=dict)  # intermediates

    def __len__(self) -> int:
        return len(self.indices)


def chunks(items: Sequence, n: int) -> List[Sequence]:
    """``items`` in at most ``n`` contiguous parts of near-equal size."""
    n = max(1, min(n, len(items)))
    size = math.ceil(len(items) / n)
    return [items[i:i + size] for i in range(0, len(items), size)]


class FramePipeline:
    """The per-frame steps of a head swap and the runner that chains them.

    Args:
        model: The :class:`~headswap.models.swappers.HeadSwapper` (eval mode, on ``device``).
        analysis: The :class:`~headswap.face.FaceAnalysis`.
        settings: The inference settings (``batch_size``, ``workers``, ``pad_batches``,
            ``feather``).
        device: The models' device.
        timer: Busy seconds per stage.
        map_fn: ``map`` over a CPU thread pool (or the builtin one).
    """

    def __init__(self, model, analysis, settings: dict, device: torch.device,
                 timer: StageTimer, map_fn: Callable[[Callable, Sequence], list]):
        self.model, self.analysis, self.settings = model, analysis, settings
        self.device, self.timer, self.map = device, timer, map_fn

    # ------------------------------------------------------------------ host steps
    def decode(self, frames: Iterable[Tuple[int, np.ndarray]],
               size: Optional[int] = None) -> Iterator[FrameBatch]:
        size = size or self.settings['batch_size']
        batch: List[Tuple[int, np.ndarray]] = []
        it = iter(frames)
        while True:
            with self.timer.time('decode'):
                item = next(it, None)
            if item is None:
                break
            batch.append(item)
            if len(batch) == size:
                yield FrameBatch([i for i, _ in batch], [f for _, f in batch])
                batch = []
        if batch:
            yield FrameBatch([i for i, _ in batch], [f for _, f in batch])

    def detect_and_landmark(self, batches: Iterable[FrameBatch],
                            selector: FaceSelector) -> Iterator[FrameBatch]:
        """Faces of each frame and the one ``selector`` chooses (it counts frames with several
        faces), then that face's landmarks."""
        workers = max(1, self.settings['workers'])
        for b in batches:
            with self.timer.time('detect'):
                dets = [d for part in self.map(self.analysis.detect, chunks(b.frames, workers))
                        for d in part]
                b.faces, b.reasons = [], []
                for idx, frame, det in zip(b.indices, b.frames, dets):
                    choice, reason = selector.select(frame, det, idx)
                    b.reasons.append(reason)
                    b.faces.append(None if choice is None else (
                        det.boxes[choice], None if det.keypoints is None
                        else det.keypoints[choice]))
            with self.timer.time('landmarks'):
                self._landmarks(b, workers)
            yield b

    def _landmarks(self, b: FrameBatch, workers: int) -> None:
        sel = [i for i, f in enumerate(b.faces) if f is not None]
        b.landmarks = [None] * len(b)
        if not sel:
            return
        boxes = np.stack([b.faces[i][0] for i in sel])
        kps = None if any(b.faces[i][1] is None for i in sel) else np.stack(
            [b.faces[i][1] for i in sel])
        parts = chunks(list(range(len(sel))), workers)

        def predict(part):
            return self.analysis.landmarks([b.frames[sel[j]] for j in part], boxes[part],
                                           None if kps is None else kps[part])
        for part, (lms, ok) in zip(parts, self.map(predict, parts)):
            for j, lm, good in zip(part, lms, ok):
                if good:
                    b.landmarks[sel[j]] = lm
                else:
                    b.reasons[sel[j]] = 'low_landmark_score'

    def smooth(self, batches: Iterable[FrameBatch], sigma: float,
               size: Optional[int] = None) -> Iterator[FrameBatch]:
        """Landmarks smoothed over time (videos; a look-ahead of 3 sigma frames), re-batched
        in frame order."""
        smoother = StreamingSmoother(sigma)
        size = size or self.settings['batch_size']
        ready: List[Tuple[tuple, Optional[np.ndarray]]] = []
        for b in batches:
            for i in range(len(b)):
                item = (b.indices[i], b.frames[i], b.reasons[i])
                ready += smoother.push(b.indices[i], b.landmarks[i], item)
            while len(ready) >= size:
                yield self._rebatch(ready[:size])
                del ready[:size]
        ready += smoother.flush()
        for start in range(0, len(ready), size):
            yield self._rebatch(ready[start:start + size])

    @staticmethod
    def _rebatch(items: List[Tuple[tuple, Optional[np.ndarray]]]) -> FrameBatch:
        out = FrameBatch([it[0] for it, _ in items], [it[1] for it, _ in items])
        out.reasons = [it[2] for it, _ in items]
        out.landmarks = [lm for _, lm in items]
        return out

    def align_and_parse(self, batches: Iterable[FrameBatch]) -> Iterator[FrameBatch]:
        a = self.analysis
        workers = max(1, self.settings['workers'])
        for b in batches:
            with self.timer.time('align'):
                b.matrices = [None if lm is None else a.transform(lm) for lm in b.landmarks]
                sel = [i for i, m in enumerate(b.matrices) if m is not None]
                crops = self.map(lambda i: a.align(b.frames[i], b.matrices[i]), sel)
                b.crops = [None] * len(b)
                b.crop_landmarks = [None] * len(b)
                for i, crop in zip(sel, crops):
                    b.crops[i] = crop
                    b.crop_landmarks[i] = a.crop_landmarks(b.landmarks[i], b.matrices[i])
            if sel and a.landmarks_on_crop:
                with self.timer.time('landmarks'):
                    for i, lm in self._per_crop(b, sel, workers, a.read_crop_landmarks):
                        b.crop_landmarks[i] = lm
            b.parsings = [None] * len(b)
            if sel and not a.parser_on_device:
                with self.timer.time('parse'):
                    for i, lab in self._per_crop(b, sel, workers, a.parse):
                        b.parsings[i] = lab
            yield b

    def _per_crop(self, b: FrameBatch, sel: List[int], workers: int, fn
                  ) -> Iterator[Tuple[int, object]]:
        """``(i, result)`` of ``fn(crops, crop_landmarks)`` for the crops ``sel`` of ``b``, in
        ``workers`` parts run by the pipeline's pool."""
        parts = chunks(sel, workers)
        results = self.map(lambda part: fn([b.crops[i] for i in part],
                                           np.stack([b.crop_landmarks[i] for i in part])), parts)
        for part, out in zip(parts, results):
            yield from zip(part, out)

    # ---------------------------------------------------------------- device steps
    @torch.no_grad()
    def swap(self, batch: FrameBatch, code: torch.Tensor, hair_color: Optional[str] = None,
             autocast=contextlib.nullcontext) -> Optional[Dict[str, torch.Tensor]]:
        """Both stages on the device for the frames of ``batch`` that have a face."""
        sel = [i for i, c in enumerate(batch.crops) if c is not None]
        if not sel:
            return None
        dev, t, model = self.device, self.timer, self.model
        n = len(sel)
        size = self.settings['batch_size'] if self.settings.get('pad_batches', True) else n
        rows = sel + [sel[-1]] * max(0, size - n)  # padded rows repeat the last face
        crops = torch.from_numpy(np.stack([batch.crops[i] for i in rows])).to(dev)
        crops = crops.permute(0, 3, 1, 2).contiguous()
        lms = torch.from_numpy(np.stack([batch.crop_landmarks[i] for i in rows])).float().to(dev)
        target = model.data_preprocessor.normalize(crops)
        parser = self.analysis.parser
        with autocast():
            with t.device_time('parse', dev):
                if self.analysis.parser_on_device:
                    parsing = parser.parse_tensor(crops).to(dev).long()[:, None]
                else:
                    parsing = torch.from_numpy(np.stack([batch.parsings[i] for i in rows]))
                    parsing = parsing.to(dev).long()[:, None]
            with t.device_time('stage1', dev):
                head_img, head_mask = model.animate(code, target, lms)
            with t.device_time('parse', dev):
                head_parsing = model.parse_head(head_img.float(), head_mask, parsing, lms, parser)
            with t.device_time('stage2', dev):
                out = model.blend(head_img.float(), head_parsing, target, parsing, hair_color)
        out.update(head_img=head_img.float(), head_mask=head_mask, head_parsing=head_parsing,
                   target_parsing=parsing, crops=crops)
        if len(rows) > n:
            out = {k: v[:n] if torch.is_tensor(v) and v.shape[:1] == (len(rows), ) else v
                   for k, v in out.items()}
        out['selected'] = sel
        return out

    @torch.no_grad()
    def paste(self, batch: FrameBatch, preds: Optional[Dict[str, torch.Tensor]],
              feather: Optional[float] = None, watermark: bool = True) -> np.ndarray:
        """Paste back into the full frames and watermark: ``(N, H, W, 3)`` uint8."""
        from headswap.provenance import mark_frames
        dev, t = self.device, self.timer
        frames = torch.from_numpy(np.stack(batch.frames)).to(dev).permute(0, 3, 1, 2)
        if preds is not None:
            sel = preds['selected']
            with t.device_time('paste_back', dev):
                side = preds['pred_img'].shape[-1]
                width = max(1, round((feather if feather is not None
                                      else self.settings['feather']) * side))
                alpha = feather_mask(preds['edit_mask'].float(), width)
                preds['alpha'] = alpha
                idx = torch.as_tensor(sel, device=dev)
                frames[idx] = paste_back(frames[idx], preds['pred_img'].float(), alpha,
                                         [batch.matrices[i] for i in sel])
        if watermark:
            with t.device_time('watermark', dev):
                frames = mark_frames(frames)
        result = frames.permute(0, 2, 3, 1).contiguous().cpu().numpy()
        t.resolve()
        return result

    @staticmethod
    def keep_intermediates(batch: FrameBatch, preds: Optional[dict], every: int) -> None:
        """Keep the crops, parsings, A, masks and exemplars of every ``every``-th frame."""
        if preds is None:
            return
        for j, i in enumerate(preds['selected']):
            if batch.indices[i] % every:
                continue

            def img(key, j=j):
                return to_uint8(preds[key][j]).permute(1, 2, 0).cpu().numpy()

            def mask(key, j=j):
                return (preds[key][j, 0].float().clamp(0, 1) * 255).round().byte().cpu() \
                    .numpy()[..., None].repeat(3, 2)
            batch.saved[i] = dict(
                target_crop=batch.crops[i],
                target_parsing=colorize(preds['target_parsing'][j, 0].cpu().numpy()),
                head=img('head_img'), head_mask=mask('head_mask'),
                head_parsing=colorize(preds['head_parsing'][j, 0].cpu().numpy()),
                head_over_scene=img('blend_head_img'),
                head_color_exemplar=img('head_color_exemplar'),
                inpaint_exemplar=img('inpaint_exemplar'), blended=img('pred_img'),
                paste_mask=mask('alpha'))

    # ---------------------------------------------------------------------- runner
    def run(self, frames: Iterable[Tuple[int, np.ndarray]], selector: FaceSelector,
            sigma: float, device_step: Callable[[FrameBatch], None],
            threaded: bool) -> Iterator[FrameBatch]:
        """All steps over one target's ``(index, frame)`` pairs; ``device_step`` fills
        ``batch.output`` (the swapped, pasted, watermarked frames)."""
        def on_device(batches):
            for b in batches:
                device_step(b)
                yield b
        stages = [lambda it: self.detect_and_landmark(it, selector),
                  lambda it: self.smooth(it, sigma), self.align_and_parse, on_device]
        return run_stages(self.decode(frames), stages, threaded=threaded)
