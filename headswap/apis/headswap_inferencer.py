"""Swap heads in images and videos: sources of S + a target of T -> T's scene with S's head."""
import contextlib
import copy
import math
import os
import os.path as osp
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config, ConfigDict
from mmengine.infer import BaseInferencer
from mmengine.logging import print_log
from mmengine.registry import DefaultScope

from headswap.errors import UserError
from headswap.face import INFERENCE_THRESHOLDS, FaceAnalysis
from headswap.registry import INFERENCERS
from headswap.structures.pixels import normalize_pixels, to_uint8
from .face_selection import FaceSelector, SFaceEmbedder, largest_face
from .media import VideoReader, input_kind, list_images, read_image
from .paste_back import feather_mask, paste_back
from .pipeline import StageTimer, run_stages
from .source_selection import farthest_point_sampling, head_pose_angles
from .temporal import StreamingSmoother

__all__ = ['HeadSwapInferencer', 'DEFAULT_INFERENCE_SETTINGS']

Source = Union[str, np.ndarray]

DEFAULT_INFERENCE_SETTINGS = dict(
    num_sources=8,            # K: source frames/photos given to stage 1 (farthest-point on pose)
    max_source_frames=240,    # frames read from a source video to choose K from
    batch_size=8,             # target frames per GPU batch
    pad_batches=True,         # run partial batches padded to batch_size: one set of shapes,
                              # so cudnn autotuning happens once (not again for every size)
    workers=4,                # CPU threads for detection, landmarks, alignment, CPU parsing
    # min_face_size (px, box side in the frame; smaller faces are ignored) and
    # min_landmark_score (below: the frame counts as without a face): headswap.face.quality
    **INFERENCE_THRESHOLDS,
    feather=0.02,             # paste-back ramp width, fraction of the crop side
    hair_color='target',      # 'target' (paper) or 'source'
    reference_embedder='sface',  # face most similar to a reference photo: 'sface' or 'arcface'
    reference_threshold=None,    # minimum similarity (None: the embedder's own)
    intermediate_interval=25,    # video: save intermediates of every n-th frame
    # libx264 settings of the output video: 'ultrafast' keeps the encoder off the critical path
    # (720p on one H100: 32 fps end to end vs 24 with 'medium'); files are ~2x larger at crf 18
    video=dict(crf=18, preset='ultrafast'),
)

_STAGES = ('decode', 'detect', 'landmarks', 'align', 'parse', 'stage1', 'stage2', 'paste_back',
           'watermark', 'encode')


@dataclass
class _Batch:
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


def _chunks(items: Sequence, n: int) -> List[Sequence]:
    n = max(1, min(n, len(items)))
    size = math.ceil(len(items) / n)
    return [items[i:i + size] for i in range(0, len(items), size)]


def _colorize(labels: np.ndarray) -> np.ndarray:
    from headswap.structures.face_labels import PARSING_PALETTE
    palette = np.zeros((256, 3), np.uint8)
    palette[:len(PARSING_PALETTE)] = np.array(PARSING_PALETTE, np.uint8)
    return palette[labels]


@INFERENCERS.register_module()
class HeadSwapInferencer(BaseInferencer):
    """Swap S's head into T's images and videos with a trained HeSer (both stages).

    Built from an inference config (``configs/inference/*.py``): ``model`` is a
    :class:`~headswap.models.swappers.HeadSwapper` (the two stage configs and
    checkpoints), ``detector`` / ``landmarker`` / ``parser`` / ``preparation`` come
    from the data-preparation config the training data were made with (same
    alignment: template, ``crop_scale``, similarity transform, smoothing), and
    ``inference`` holds :data:`DEFAULT_INFERENCE_SETTINGS`.

    Steps per target frame: detect faces and choose one, 68 landmarks, align (the
    data-preparation crop, landmarks smoothed over time in videos), parse, stage 1
    with the cached source code, parse A, compose A over T's scene, stage 2, paste
    back into the full frame through the inverse alignment with a feathered mask
    inside the edited (dilated head) region, watermark, write with provenance
    metadata (``headswap.provenance``). Frames without a usable face pass through
    unchanged and are counted in the summary.

    mmengine's four steps map onto streams: :meth:`preprocess` yields batches of
    decoded, analysed and aligned frames, :meth:`forward` runs both stages on the
    device, :meth:`visualize` pastes back and watermarks, :meth:`postprocess`
    writes. For videos they run in overlapping threads with bounded queues
    (decode | detect + landmarks | smoothing | align + CPU parsing | GPU | encode),
    so no frame is ever held twice and CPU and GPU work at the same time.

    Args:
        model: Inference config path, Config or dict.
        weights: A HeadSwapper checkpoint (both stages, ``aligner.*``/``blender.*``),
            or None to use the stage checkpoints named in the config.
        device: ``'cuda'``, ``'cuda:1'``, ``'cpu'``; None: CUDA when available.
        bf16: Run the models under bfloat16 autocast.
        batch_size, workers: Override the config's ``inference`` settings.
        provenance: :class:`headswap.provenance.Provenance` written into every
            output (watermark on unless it says otherwise).
        cfg_options: Overrides merged into the config.
        show_progress: Progress bar (frames, fps, ETA) for videos.
    """

    preprocess_kwargs = {'face'}
    forward_kwargs = {'hair_color'}
    visualize_kwargs = {'feather'}
    postprocess_kwargs = {'out', 'save_intermediates'}

    def __init__(self, model: Union[str, Config, dict] = 'configs/inference/headswap_offline.py',
                 weights: Optional[str] = None, device: Optional[str] = None,
                 bf16: bool = False, batch_size: Optional[int] = None,
                 workers: Optional[int] = None, provenance=None,
                 cfg_options: Optional[dict] = None, show_progress: bool = True):
        from headswap.provenance import Provenance
        from headswap.utils import register_all_modules
        register_all_modules(init_default_scope=False)
        cfg = self._load_config(model, cfg_options)
        self.settings = copy.deepcopy(DEFAULT_INFERENCE_SETTINGS)
        unknown = set(cfg.get('inference', {})) - set(self.settings)
        if unknown:
            raise UserError(f'unknown inference settings {sorted(unknown)}; known: '
                            f'{sorted(self.settings)}')
        self.settings.update(copy.deepcopy(dict(cfg.get('inference', {}))))
        if batch_size is not None:
            self.settings['batch_size'] = int(batch_size)
        if workers is not None:
            self.settings['workers'] = int(workers)
        self.device = torch.device(device or ('cuda' if torch.cuda.is_available() else 'cpu'))
        self.bf16 = bool(bf16)
        self.provenance = provenance or Provenance()
        self.timer = StageTimer()
        self._source_cache: Dict[Any, Dict[str, Any]] = {}
        self.sources: Optional[Dict[str, Any]] = None
        from headswap.models.swappers.head_swapper import quiet_random_weight_warnings
        if weights is not None:  # both stages come from `weights`, not the stage files
            cfg.model.aligner_checkpoint = cfg.model.blender_checkpoint = None
        with DefaultScope.overwrite_default_scope('headswap'), \
                quiet_random_weight_warnings(weights is not None):
            super().__init__(model=cfg, weights=weights, device=str(self.device),
                             scope='headswap', show_progress=show_progress)
        workers = int(self.settings['workers'])
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix='headswap-cpu') \
            if workers > 0 else None

    # ------------------------------------------------------------------ setup
    @staticmethod
    def _load_config(model: Union[str, Config, dict], cfg_options: Optional[dict]) -> Config:
        if isinstance(model, str):
            from headswap.utils.config import load_config
            cfg = load_config(model)
            root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(model))))
        else:
            cfg = copy.deepcopy(model if isinstance(model, Config) else Config(model))
            root = os.getcwd()
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        for key in ('model', 'detector', 'landmarker', 'parser'):
            if key not in cfg:
                raise UserError(f'the inference config has no `{key}`; see '
                                'configs/inference/headswap_offline.py')
        # config files named relative to the repository work from any directory
        for part, key in (('model', 'aligner'), ('model', 'blender'), ('parser', 'config'),
                          ('landmarker', 'config')):
            path = cfg[part].get(key)
            if isinstance(path, str) and '::' not in path and not osp.isfile(path) \
                    and osp.isfile(osp.join(root, path)):
                cfg[part][key] = osp.join(root, path)
        return cfg

    def _init_model(self, cfg: ConfigDict, weights: Optional[str], device: str = 'cpu'):
        model = super()._init_model(cfg, weights, 'cpu')
        return model.to(device).eval()

    def _load_weights_to_model(self, model, checkpoint: Optional[dict], cfg) -> None:
        if checkpoint is None:
            return  # the stage checkpoints of the config were loaded by the HeadSwapper
        from headswap.errors import CheckpointError
        from headswap.models.swappers import checkpoint_stage, load_inference_state
        state = checkpoint.get('state_dict', checkpoint)
        stage = checkpoint_stage(state)
        if stage != 'swapper':
            raise CheckpointError(f'weights must be a HeadSwapper checkpoint (aligner.* and '
                                  f'blender.* keys; found {stage or "neither"}); give stage '
                                  'checkpoints as model.aligner_checkpoint / '
                                  'model.blender_checkpoint instead')
        load_inference_state(model, state, 'weights', use_ema=False)

    def _init_pipeline(self, cfg: ConfigDict) -> FaceAnalysis:
        """The face analysis (mmengine's ``pipeline``): detector, landmarks, alignment, parser."""
        return FaceAnalysis(cfg.detector, cfg.landmarker, cfg.parser, cfg.get('preparation'),
                            size=self.model.resolution, device=str(self.device),
                            min_face_size=self.settings['min_face_size'],
                            min_landmark_score=self.settings['min_landmark_score'])

    def _init_visualizer(self, cfg: ConfigDict):
        return None

    @property
    def analysis(self) -> FaceAnalysis:
        return self.pipeline

    def _map(self, fn, items: Sequence) -> list:
        if self._pool is None or len(items) <= 1:
            return [fn(x) for x in items]
        return list(self._pool.map(fn, items))

    def _autocast(self):
        if not self.bf16:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    # ---------------------------------------------------------------- sources
    def set_sources(self, sources: Union[Source, Sequence[Source]],
                    num_sources: Optional[int] = None) -> Dict[str, Any]:
        """Analyse S's photos / folder / video and cache stage 1's source code.

        Every face found is aligned like the training data; when there are more than
        ``num_sources`` (K), K are chosen by farthest-point sampling on head pose
        (approximate yaw, pitch, roll from the landmarks). A file without a
        detectable face is an error naming it. The code is cached: the same sources
        are analysed once per inferencer.

        Returns:
            ``dict(code=(1, d) tensor, crops=[K (S, S, 3)], names=[K], poses=(K, 3))``.
        """
        k = int(num_sources or self.settings['num_sources'])
        items = list(sources) if isinstance(sources, (list, tuple)) else [sources]
        if not items:
            raise UserError('no source images given')
        key = (tuple(self._source_key(x) for x in items), k, self.bf16)
        if key not in self._source_cache:
            crops, lms, names = [], [], []
            for item in items:
                for name, crop, lm in self._analyse_source(item):
                    crops.append(crop)
                    lms.append(lm)
                    names.append(name)
            poses = head_pose_angles(np.stack(lms))
            chosen = farthest_point_sampling(poses, k, robust=True)
            crops = [crops[i] for i in chosen]
            x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2)[None].to(self.device)
            with torch.no_grad(), self._autocast():
                code = self.model.encode_sources(normalize_pixels(x)).float()
            self._source_cache[key] = dict(code=code, crops=crops,
                                           names=[names[i] for i in chosen],
                                           poses=poses[chosen], candidates=len(names))
        self.sources = self._source_cache[key]
        return self.sources

    @staticmethod
    def _source_key(item: Source):
        if isinstance(item, np.ndarray):
            return ('array', item.shape, hash(item[::max(1, item.shape[0] // 64)].tobytes()))
        st = os.stat(item) if osp.exists(item) else None
        return (osp.abspath(item), st.st_mtime_ns if st else 0, st.st_size if st else 0)

    def _analyse_source(self, item: Source) -> List[Tuple[str, np.ndarray, np.ndarray]]:
        """``[(name, crop, crop landmarks)]`` of every usable face of one source item."""
        if isinstance(item, np.ndarray):
            frames, name = [(0, self._check_array(item, 'source'))], 'array'
        else:
            kind = input_kind(item)
            if kind == 'folder':
                paths = list_images(item)
                if not paths:
                    raise UserError(f'{item}: no images in this folder')
                return [face for p in paths for face in self._analyse_source(p)]
            name = item
            if kind == 'image':
                frames = [(0, read_image(item))]
            else:
                reader = VideoReader(item)
                total = reader.expected_frames or self.settings['max_source_frames']
                reader.stride = max(1, math.ceil(total / self.settings['max_source_frames']))
                frames = list(reader)
                if reader.end is not None and reader.end.error and not frames:
                    raise UserError(f'{item}: {reader.end.error}')
        faces = []
        for start in range(0, len(frames), self.settings['batch_size']):
            chunk = frames[start:start + self.settings['batch_size']]
            images = [f for _, f in chunk]
            dets = self.analysis.detect(images)
            keep = [(i, largest_face(d)) for i, d in enumerate(dets) if len(d)]
            if not keep:
                continue
            boxes = np.stack([dets[i].boxes[j] for i, j in keep])
            kps = None if any(dets[i].keypoints is None for i, _ in keep) else np.stack(
                [dets[i].keypoints[j] for i, j in keep])
            lms, ok = self.analysis.landmarks([images[i] for i, _ in keep], boxes, kps)
            for (i, _), lm, good in zip(keep, lms, ok):
                if not good:
                    continue
                m = self.analysis.transform(lm)
                label = name if len(frames) == 1 else f'{name}#{chunk[i][0]}'
                faces.append((label, self.analysis.align(images[i], m),
                              self.analysis.crop_landmarks(lm, m)))
        if not faces:
            where = 'this image' if len(frames) == 1 else f'any of the {len(frames)} frames read'
            raise UserError(f'{name}: no face found in {where}; use a photo or video where '
                            f"S's face is visible (at least {self.analysis.min_face_size:.0f} "
                            'px wide)')
        return faces

    @staticmethod
    def _check_array(img: np.ndarray, what: str) -> np.ndarray:
        if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3 \
                or img.dtype != np.uint8:
            desc = f'{img.dtype} {img.shape}' if isinstance(img, np.ndarray) else type(img)
            raise UserError(f'{what}: arrays must be (H, W, 3) uint8 RGB, got {desc}')
        return img

    # --------------------------------------------------------------- selection
    def _selector(self, face: Union[str, int, np.ndarray, None]) -> FaceSelector:
        if face is None or face == 'largest':
            return FaceSelector('largest')
        if isinstance(face, (int, np.integer)) or (isinstance(face, str) and face.lstrip('-')
                                                   .isdigit()):
            return FaceSelector(int(face))
        reference = read_image(face) if isinstance(face, str) else self._check_array(
            face, 'face reference')
        embed, threshold = self._embedder()
        det = self.analysis.detect([reference])[0]
        if not len(det):
            raise UserError(f'{face if isinstance(face, str) else "reference"}: no face found '
                            'in the reference photo')
        best = largest_face(det)
        ref = embed(reference, type(det)(det.boxes[best:best + 1], det.scores[best:best + 1],
                                         None if det.keypoints is None
                                         else det.keypoints[best:best + 1]))[0]
        return FaceSelector('reference', ref, embed, threshold)

    def _embedder(self):
        kind = self.settings['reference_embedder']
        threshold = self.settings['reference_threshold']
        if kind == 'sface':
            sface = SFaceEmbedder()
            return sface.embed, SFaceEmbedder.threshold if threshold is None else threshold
        if kind != 'arcface':
            raise UserError(f"reference_embedder must be 'sface' or 'arcface', got {kind!r}")

        def arcface(image: np.ndarray, det) -> np.ndarray:
            if det.keypoints is None:
                raise UserError("reference_embedder='arcface' needs detector keypoints")
            crops = [self.analysis.align(image, self.analysis.keypoint_alignment(k))
                     for k in det.keypoints]
            x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).to(self.device)
            with torch.no_grad():
                emb = self.model.aligner.identity_encoder(normalize_pixels(x))
            return emb.float().cpu().numpy()
        return arcface, 0.25 if threshold is None else threshold

    # ------------------------------------------------------------------ stages
    def _decode(self, frames: Iterable[Tuple[int, np.ndarray]],
                size: Optional[int] = None) -> Iterator[_Batch]:
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
                yield _Batch([i for i, _ in batch], [f for _, f in batch])
                batch = []
        if batch:
            yield _Batch([i for i, _ in batch], [f for _, f in batch])

    def _detect_and_landmark(self, batches: Iterable[_Batch], selector: FaceSelector,
                             stats: Dict[str, int]) -> Iterator[_Batch]:
        workers = max(1, self.settings['workers'])
        for b in batches:
            with self.timer.time('detect'):
                dets = [d for part in self._map(self.analysis.detect, _chunks(b.frames, workers))
                        for d in part]
                b.faces, b.reasons = [], []
                for idx, frame, det in zip(b.indices, b.frames, dets):
                    stats['several_faces'] += int(len(det) > 1)
                    choice, reason = selector.select(frame, det, idx)
                    b.reasons.append(reason)
                    b.faces.append(None if choice is None else (
                        det.boxes[choice], None if det.keypoints is None
                        else det.keypoints[choice]))
            with self.timer.time('landmarks'):
                sel = [i for i, f in enumerate(b.faces) if f is not None]
                b.landmarks = [None] * len(b)
                if sel:
                    boxes = np.stack([b.faces[i][0] for i in sel])
                    kps = None if any(b.faces[i][1] is None for i in sel) else np.stack(
                        [b.faces[i][1] for i in sel])
                    parts = _chunks(list(range(len(sel))), workers)

                    def predict(part, sel=sel, boxes=boxes, kps=kps, b=b):
                        return self.analysis.landmarks(
                            [b.frames[sel[j]] for j in part], boxes[part],
                            None if kps is None else kps[part])
                    results = self._map(predict, parts)
                    for part, (lms, ok) in zip(parts, results):
                        for j, lm, good in zip(part, lms, ok):
                            if good:
                                b.landmarks[sel[j]] = lm
                            else:
                                b.reasons[sel[j]] = 'low_landmark_score'
            yield b

    def _smooth(self, batches: Iterable[_Batch], sigma: float,
                size: Optional[int] = None) -> Iterator[_Batch]:
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
    def _rebatch(items: List[Tuple[tuple, Optional[np.ndarray]]]) -> _Batch:
        out = _Batch([it[0] for it, _ in items], [it[1] for it, _ in items])
        out.reasons = [it[2] for it, _ in items]
        out.landmarks = [lm for _, lm in items]
        return out

    def _align_and_parse(self, batches: Iterable[_Batch]) -> Iterator[_Batch]:
        a = self.analysis
        workers = max(1, self.settings['workers'])
        for b in batches:
            with self.timer.time('align'):
                b.matrices = [None if lm is None else a.transform(lm) for lm in b.landmarks]
                sel = [i for i, m in enumerate(b.matrices) if m is not None]
                crops = self._map(lambda i: a.align(b.frames[i], b.matrices[i]), sel)
                b.crops = [None] * len(b)
                b.crop_landmarks = [None] * len(b)
                for i, crop in zip(sel, crops):
                    b.crops[i] = crop
                    b.crop_landmarks[i] = a.crop_landmarks(b.landmarks[i], b.matrices[i])
            b.parsings = [None] * len(b)
            if sel and not a.parser_on_device:
                with self.timer.time('parse'):
                    parts = _chunks(sel, workers)
                    maps = self._map(lambda part: a.parse(
                        [b.crops[i] for i in part], np.stack([b.crop_landmarks[i]
                                                              for i in part])), parts)
                    for part, labels in zip(parts, maps):
                        for i, lab in zip(part, labels):
                            b.parsings[i] = lab
            yield b

    @torch.no_grad()
    def forward(self, batch: _Batch, hair_color: Optional[str] = None
                ) -> Optional[Dict[str, torch.Tensor]]:
        """Both stages on the device for the frames of ``batch`` that have a face."""
        if self.sources is None:
            raise UserError('no sources: call set_sources() or pass sources=')
        sel = [i for i, c in enumerate(batch.crops) if c is not None]
        if not sel:
            return None
        dev, t = self.device, self.timer
        n = len(sel)
        size = self.settings['batch_size'] if self.settings.get('pad_batches', True) else n
        rows = sel + [sel[-1]] * max(0, size - n)  # padded rows repeat the last face
        crops = torch.from_numpy(np.stack([batch.crops[i] for i in rows])).to(dev)
        crops = crops.permute(0, 3, 1, 2).contiguous()
        lms = torch.from_numpy(np.stack([batch.crop_landmarks[i] for i in rows])).float().to(dev)
        target = normalize_pixels(crops)
        parser = self.analysis.parser
        with self._autocast():
            with t.device_time('parse', dev):
                if self.analysis.parser_on_device:
                    parsing = parser.parse_tensor(crops).to(dev).long()[:, None]
                else:
                    parsing = torch.from_numpy(np.stack([batch.parsings[i] for i in rows]))
                    parsing = parsing.to(dev).long()[:, None]
            with t.device_time('stage1', dev):
                head_img, head_mask = self.model.animate(self.sources['code'], target)
            with t.device_time('parse', dev):
                head_parsing = self.model.parse_head(head_img.float(), head_mask, parsing, lms,
                                                     parser)
            with t.device_time('stage2', dev):
                out = self.model.blend(head_img.float(), head_parsing, target, parsing,
                                       hair_color)
        out.update(head_img=head_img.float(), head_mask=head_mask, head_parsing=head_parsing,
                   target_parsing=parsing, crops=crops)
        if len(rows) > n:
            out = {k: v[:n] if torch.is_tensor(v) and v.shape[:1] == (len(rows), ) else v
                   for k, v in out.items()}
        out['selected'] = sel
        return out

    @torch.no_grad()
    def visualize(self, batch: _Batch, preds: Optional[Dict[str, torch.Tensor]],
                  feather: Optional[float] = None) -> np.ndarray:
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
        if self.provenance.watermark:
            with t.device_time('watermark', dev):
                frames = mark_frames(frames)
        result = frames.permute(0, 2, 3, 1).contiguous().cpu().numpy()
        t.resolve()
        return result

    def _keep_intermediates(self, batch: _Batch, preds: Optional[dict], every: int) -> None:
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
                target_parsing=_colorize(preds['target_parsing'][j, 0].cpu().numpy()),
                head=img('head_img'), head_mask=mask('head_mask'),
                head_parsing=_colorize(preds['head_parsing'][j, 0].cpu().numpy()),
                head_over_scene=img('blend_head_img'),
                head_color_exemplar=img('head_color_exemplar'),
                inpaint_exemplar=img('inpaint_exemplar'), blended=img('pred_img'),
                paste_mask=mask('alpha'))

    def _gpu(self, batches: Iterable[_Batch], hair_color, feather, save_every: int
             ) -> Iterator[_Batch]:
        for b in batches:
            preds = self.forward(b, hair_color)
            b.output = self.visualize(b, preds, feather)
            if save_every:
                self._keep_intermediates(b, preds, save_every)
            yield b

    def postprocess(self, preds, visualization, return_datasample: bool = False,
                    out: Optional[str] = None, save_intermediates: Optional[str] = None
                    ) -> dict:
        """mmengine's last step: the summaries (outputs are written while streaming)."""
        return dict(predictions=preds, visualization=visualization)

    def _save_intermediates(self, folder: str, stem: str, batch: _Batch) -> None:
        from headswap.provenance import write_image
        for i, images in batch.saved.items():
            for name, arr in images.items():
                write_image(osp.join(folder, f'{stem}_{batch.indices[i]:06d}_{name}.png'),
                            np.ascontiguousarray(arr), self.provenance)

    # -------------------------------------------------------------------- call
    def __call__(self, inputs: Union[Source, Sequence[Source]],
                 sources: Union[Source, Sequence[Source], None] = None,
                 out: Optional[str] = None, face: Union[str, int, None] = 'largest',
                 hair_color: Optional[str] = None, feather: Optional[float] = None,
                 save_intermediates: Optional[str] = None,
                 num_sources: Optional[int] = None, pipelined: Optional[bool] = None,
                 return_datasamples: bool = False, **kwargs) -> dict:
        """Swap S's head into every target of ``inputs``.

        Args:
            inputs: Target(s) of T: image path(s), an (H, W, 3) RGB array, a folder of
                images, or a video.
            sources: S's photos, a folder or a video (or set earlier with
                :meth:`set_sources`; the analysis is cached).
            out: Output file for one image or video target (image: .png/.jpg/.webp;
                video: .mp4/.mov/.mkv), or a folder (outputs named after the targets;
                videos as .mp4). None: images are returned, not written; videos need it.
            face: Which face of T: ``'largest'`` (default), an index (left to right),
                or a reference photo of the face to swap.
            hair_color: ``'target'`` / ``'source'`` (default: the config's).
            feather: Paste-back ramp width, fraction of the crop side.
            save_intermediates: Folder for aligned crops, parsing maps, A, masks and
                exemplars (video: every ``intermediate_interval``-th frame), and the
                aligned source crops.
            num_sources: K (default: the config's ``num_sources``).
            pipelined: Overlap the video stages in threads. None (default): on GPUs
                only - on a CPU the models already use every core, and threads
                competing with them make it slower.

        Returns:
            ``dict(predictions=[summary per target], visualization=[output image array
            or None per target])``. A summary holds ``target``, ``output``, ``kind``,
            ``frames``, ``swapped``, ``no_face`` (frames passed through unchanged, by
            reason in ``skipped``), ``several_faces``, ``seconds``, ``fps``,
            ``status`` (``'ok'`` / ``'error'``) and ``error``.
        """
        if kwargs:
            raise TypeError(f'unexpected arguments {sorted(kwargs)}')
        if sources is not None:
            self.set_sources(sources, num_sources)
        elif self.sources is None:
            raise UserError('no sources given: pass sources= (photos, a folder or a video of '
                            "the person whose head is pasted in)")
        if pipelined is None:
            pipelined = self.device.type == 'cuda'
        targets = self._targets(inputs, out)
        summaries, images = [], []
        if save_intermediates:
            self._save_source_crops(save_intermediates)
        for target, output in targets:
            with DefaultScope.overwrite_default_scope('headswap'):
                summary, image = self._swap_target(target, output, face, hair_color, feather,
                                                   save_intermediates, pipelined)
            summaries.append(summary)
            images.append(image)
        return self.postprocess(summaries, images, return_datasamples)

    def _targets(self, inputs, out: Optional[str]) -> List[Tuple[Source, Optional[str]]]:
        items = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        expanded: List[Source] = []
        for item in items:
            if isinstance(item, str) and input_kind(item) == 'folder':
                found = list_images(item)
                if not found:
                    raise UserError(f'{item}: no images in this target folder')
                expanded += found
            else:
                expanded.append(item)
        to_file = out is not None and bool(osp.splitext(out)[1]) and not osp.isdir(out)
        if len(expanded) > 1 and to_file:
            raise UserError(f'{out}: several targets need an output folder, not a file')
        pairs = []
        for i, item in enumerate(expanded):
            if out is None or to_file:
                pairs.append((item, out))
                continue
            if isinstance(item, str):
                stem, ext = osp.splitext(osp.basename(item))
                ext = '.mp4' if input_kind(item) == 'video' else ext.lower()
            else:
                stem, ext = f'target_{i:04d}', '.png'
            if ext not in ('.png', '.jpg', '.jpeg', '.webp', '.mp4'):
                ext = '.png'
            pairs.append((item, osp.join(out, f'{stem}_swap{ext}')))
        return pairs

    def _save_source_crops(self, folder: str) -> None:
        from headswap.provenance import write_image
        for k, crop in enumerate(self.sources['crops']):
            write_image(osp.join(folder, f'source_{k:02d}_crop.png'), crop, self.provenance)

    def _swap_target(self, target: Source, output: Optional[str], face, hair_color, feather,
                     save_dir: Optional[str], pipelined: bool) -> Tuple[dict, Optional[np.ndarray]]:
        start = time.perf_counter()
        kind = 'image' if isinstance(target, np.ndarray) else input_kind(target)
        name = 'array' if isinstance(target, np.ndarray) else target
        summary = dict(target=name, output=output, kind=kind, frames=0, swapped=0, no_face=0,
                       skipped={}, several_faces=0, status='ok', error=None)
        selector = self._selector(face)
        stem = 'target' if isinstance(target, np.ndarray) else osp.splitext(
            osp.basename(target))[0]
        if kind == 'image':
            img = self._check_array(target, 'target') if isinstance(target, np.ndarray) \
                else read_image(target)
            frames: Iterable = [(0, img)]
            reader, sigma, every = None, 0.0, 1 if save_dir else 0
        else:
            if output is None:
                raise UserError(f'{target}: a video target needs an output file (out=...)')
            reader = VideoReader(target)
            frames, sigma = reader, self.analysis.smooth_sigma
            every = int(self.settings['intermediate_interval']) if save_dir else 0
        writer = None
        image_out = None
        stats = dict(several_faces=0)
        progress = self._progress(reader)
        try:
            stages = [
                lambda it: self._detect_and_landmark(it, selector, stats),
                lambda it: self._smooth(it, sigma),
                self._align_and_parse,
                lambda it: self._gpu(it, hair_color, feather, every),
            ]
            for b in run_stages(self._decode(frames), stages,
                                threaded=pipelined and kind == 'video'):
                with self.timer.time('encode'):
                    if kind == 'video':
                        if writer is None:
                            writer = self._open_writer(output, reader, b.output.shape)
                        writer.write(b.output)
                    else:
                        image_out = b.output[0]
                        if output is not None:
                            self._write_image(output, image_out)
                if save_dir and b.saved:
                    self._save_intermediates(save_dir, stem, b)
                self._count(summary, b)
                if progress is not None:
                    progress.update(len(b))
        finally:
            if writer is not None:
                with self.timer.time('encode'):
                    writer.close()
            if progress is not None:
                progress.close()
        summary['several_faces'] = stats['several_faces']
        if reader is not None and reader.end is not None and reader.end.error:
            summary.update(status='error', error=f'{target}: {reader.end.error}')
            if writer is None and output is not None:
                summary['output'] = None
            print_log(f'{summary["error"]}; the {summary["frames"]} frames decoded before were '
                      f'written to {summary["output"]}', logger='current', level=40)
        summary['seconds'] = round(time.perf_counter() - start, 3)
        summary['fps'] = round(summary['frames'] / max(summary['seconds'], 1e-9), 2)
        return summary, image_out

    def _count(self, summary: dict, b: _Batch) -> None:
        summary['frames'] += len(b)
        for crop, reason in zip(b.crops, b.reasons):
            if crop is not None:
                summary['swapped'] += 1
            else:
                summary['no_face'] += 1
                key = reason if reason != 'ok' else 'no_face'
                summary['skipped'][key] = summary['skipped'].get(key, 0) + 1

    def _progress(self, reader: Optional[VideoReader]):
        if reader is None or not self.show_progress:
            return None
        from tqdm import tqdm
        return tqdm(total=reader.expected_frames or None, unit='frame', desc='swap',
                    dynamic_ncols=True)

    def _open_writer(self, output: str, reader: VideoReader, shape: Tuple[int, ...]):
        from headswap.provenance import open_video_writer
        video = self.settings['video']
        return open_video_writer(output, reader.fps, (shape[2], shape[1]), self.provenance,
                                 audio_from=reader.path if reader.has_audio else None,
                                 already_marked=True, crf=video.get('crf', 18),
                                 preset=video.get('preset', 'ultrafast'))

    def _write_image(self, path: str, rgb: np.ndarray) -> None:
        from headswap.provenance import write_image
        ext = osp.splitext(path)[1].lower()
        if ext not in ('.png', '.jpg', '.jpeg', '.webp'):
            raise UserError(f'{path}: write images as .png, .jpg or .webp')
        write_image(path, rgb, self.provenance, already_marked=True)

    def preprocess(self, inputs: Iterable[Tuple[int, np.ndarray]], batch_size: int = 1,
                   face: Union[str, int, None] = 'largest', smooth_sigma: float = 0.0
                   ) -> Iterator[_Batch]:
        """mmengine's first step, in one thread: ``(index, frame)`` pairs of one target ->
        decoded, analysed (face chosen, landmarks), smoothed and aligned batches."""
        stats = dict(several_faces=0)
        batches = self._decode(inputs, batch_size)
        batches = self._detect_and_landmark(batches, self._selector(face), stats)
        return self._align_and_parse(self._smooth(batches, smooth_sigma, batch_size))
