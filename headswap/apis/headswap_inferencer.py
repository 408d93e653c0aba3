"""Swap heads in images and videos: sources of S + a target of T -> T's scene with S's head.

:class:`HeadSwapInferencer` is a thin facade: settings, config and model loading, and the
loop over targets. The work is done in three rooms: :mod:`.source_bank` (encode and cache K
sources), :mod:`.frame_pipeline` (detect -> align -> swap -> paste back -> smooth, batched,
pipelined in threads for videos) and :mod:`.writers` (image, video with audio, provenance).
"""
import contextlib
import copy
import os.path as osp
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Iterable, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config, ConfigDict
from mmengine.infer import BaseInferencer
from mmengine.registry import DefaultScope

from headswap.errors import UserError
from headswap.face import INFERENCE_THRESHOLDS, FaceAnalysis
from headswap.registry import INFERENCERS
from headswap.utils.stages import StageTimer
from .face_selection import FaceSelector, make_selector, target_face_choice, warn_several_faces
from .frame_pipeline import FrameBatch, FramePipeline
from .media import VideoReader, check_rgb_array, input_kind, read_image
from .source_bank import Source, SourceBank
from .writers import (OutputWriter, count_frames, output_paths, partial_path, remove_file,
                      settle_output, target_summary)

__all__ = ['HeadSwapInferencer', 'DEFAULT_INFERENCE_SETTINGS']

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


@INFERENCERS.register_module()
class HeadSwapInferencer(BaseInferencer):
    """Swap S's head into T's images and videos with a trained HeSer (both stages).

    Built from an inference config (``configs/inference/*.py``): ``model`` is a
    :class:`~headswap.models.swappers.HeadSwapper` (the two stage configs and checkpoints),
    ``detector`` / ``landmarker`` / ``parser`` / ``preparation`` come from the data-preparation
    config the training data were made with (same alignment: template, ``crop_scale``, similarity
    transform, smoothing), and ``inference`` holds :data:`DEFAULT_INFERENCE_SETTINGS`.

    Steps per target frame: detect faces and choose one, 68 landmarks, align (the data-preparation
    crop, landmarks smoothed over time in videos), parse, stage 1 with the cached source code,
    parse A, compose A over T's scene, stage 2, paste back into the full frame through the inverse
    alignment with a feathered mask inside the edited (dilated head) region, watermark, write with
    provenance metadata (``headswap.provenance``). Frames without a usable face pass through
    unchanged and are counted in the summary.

    A thin facade over three rooms: the source bank (:class:`~.source_bank.SourceBank`: encode and
    cache K sources), the frame pipeline (:class:`~.frame_pipeline.FramePipeline`: detect -> align
    -> swap -> paste back -> smooth, chained or overlapped in threads) and the output writers
    (:class:`~.writers.OutputWriter`: image, video with audio, provenance). mmengine's four steps
    map onto them: :meth:`preprocess` yields batches of decoded, analysed and aligned frames,
    :meth:`forward` runs both stages on the device, :meth:`visualize` pastes back and watermarks,
    :meth:`postprocess` returns the summaries (outputs are written while streaming). For videos the
    steps run in overlapping threads with bounded queues (decode | detect + landmarks | smoothing |
    align + CPU parsing | GPU | encode), so no frame is ever held twice and CPU and GPU work at the
    same time.

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
        self.writer = OutputWriter(provenance or Provenance(), self.settings)
        self.timer = StageTimer()
        from headswap.models.swappers import quiet_random_weight_warnings
        if weights is not None:  # both stages come from `weights`, not the stage files
            cfg.model.aligner_checkpoint = cfg.model.blender_checkpoint = None
        with DefaultScope.overwrite_default_scope('headswap'), \
                quiet_random_weight_warnings(weights is not None):
            super().__init__(model=cfg, weights=weights, device=str(self.device),
                             scope='headswap', show_progress=show_progress)
        workers = int(self.settings['workers'])
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix='headswap-cpu') \
            if workers > 0 else None
        self.bank = SourceBank(self.analysis, self._encode_sources, self.settings, self.device)
        self.frames = FramePipeline(self.model, self.analysis, self.settings, self.device,
                                    self.timer, self._map)

    @property
    def provenance(self):
        """The :class:`headswap.provenance.Provenance` written into every output."""
        return self.writer.provenance

    @provenance.setter
    def provenance(self, value) -> None:
        self.writer.provenance = value

    @property
    def sources(self) -> Optional[Dict[str, Any]]:
        """The current sources (:meth:`set_sources`), or None."""
        return self.bank.current

    # ------------------------------------------------------------------ setup
    @staticmethod
    def _load_config(model: Union[str, Config, dict], cfg_options: Optional[dict]) -> Config:
        from headswap.utils.config import load_inference_config
        return load_inference_config(model, cfg_options)

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
                    num_sources: Optional[int] = None,
                    source_face: Union[str, int] = 'largest') -> Dict[str, Any]:
        """Analyse S's photos / folder / video and cache stage 1's source code.

        The face of each file is ``source_face``: ``'largest'`` or a face number (1 = the
        leftmost confident face; :mod:`.face_selection`); a warning names files with several.
        Every face used is aligned like the training data; when there are more than
        ``num_sources`` (K), K are chosen by farthest-point sampling on head pose
        (approximate yaw, pitch, roll from the landmarks). A file without a usable
        face is left out with a warning naming it (an error when no file is usable).
        The code is cached: the same sources are analysed once per inferencer.

        Returns:
            ``dict(code=(1, d) tensor, crops=[K (S, S, 3)], names=[K], poses=(K, 3))``.
        """
        return self.bank.set(sources, num_sources, variant=self.bf16, face=source_face)

    def _encode_sources(self, crops: torch.Tensor) -> torch.Tensor:
        with torch.no_grad(), self._autocast():
            return self.model.encode_sources(self.model.data_preprocessor.normalize(crops)).float()

    def _selector(self, face: Union[str, int, np.ndarray, None]) -> FaceSelector:
        return make_selector(face, self.analysis, self.settings,
                             getattr(self.model.aligner, 'identity_encoder', None), self.device)

    # ------------------------------------------------------- mmengine's four steps
    def preprocess(self, inputs, batch_size: int = 1, face: Union[str, int, None] = 'largest',
                   smooth_sigma: float = 0.0):
        """mmengine's first step, in one thread: ``(index, frame)`` pairs of one target ->
        decoded, analysed (face chosen, landmarks), smoothed and aligned batches."""
        f = self.frames
        batches = f.detect_and_landmark(f.decode(inputs, batch_size), self._selector(face))
        return f.align_and_parse(f.smooth(batches, smooth_sigma, batch_size))

    @torch.no_grad()
    def forward(self, batch: FrameBatch, hair_color: Optional[str] = None
                ) -> Optional[Dict[str, torch.Tensor]]:
        """Both stages on the device for the frames of ``batch`` that have a face."""
        if self.sources is None:
            raise UserError('no sources: call set_sources() or pass sources=')
        return self.frames.swap(batch, self.sources['code'], hair_color, self._autocast)

    @torch.no_grad()
    def visualize(self, batch: FrameBatch, preds: Optional[Dict[str, torch.Tensor]],
                  feather: Optional[float] = None) -> np.ndarray:
        """Paste back into the full frames and watermark: ``(N, H, W, 3)`` uint8."""
        return self.frames.paste(batch, preds, feather, self.provenance.watermark)

    def postprocess(self, preds, visualization, return_datasample: bool = False,
                    out: Optional[str] = None, save_intermediates: Optional[str] = None
                    ) -> dict:
        """mmengine's last step: the summaries (outputs are written while streaming)."""
        return dict(predictions=preds, visualization=visualization)

    # -------------------------------------------------------------------- call
    def __call__(self, inputs: Union[Source, Sequence[Source]],
                 sources: Union[Source, Sequence[Source], None] = None,
                 out: Optional[str] = None, target_face: Union[str, int, None] = None,
                 source_face: Union[str, int] = 'largest', face=None,
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
            target_face: Which face of T: ``'largest'`` (default), a face number (1 = the
                leftmost confident face, -1 = the rightmost) or a reference photo; ``face``
                is its deprecated 0-based form.
            source_face: Which face of each source file: ``'largest'`` or a face number.
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
        face = target_face_choice(target_face, face)
        if sources is not None:
            self.set_sources(sources, num_sources, source_face)
        elif self.sources is None:
            raise UserError('no sources given: pass sources= (photos, a folder or a video of '
                            "the person whose head is pasted in)")
        pipelined = self.device.type == 'cuda' if pipelined is None else pipelined
        targets = output_paths(inputs, out)
        summaries, images = [], []
        if save_intermediates:
            self.writer.save_source_crops(save_intermediates, self.sources['crops'])
        for target, output in targets:
            try:
                with DefaultScope.overwrite_default_scope('headswap'):
                    summary, image = self._swap_target(target, output, face, hair_color,
                                                       feather, save_intermediates, pipelined)
            except UserError as e:  # a batch goes on past a bad file; one target raises
                if len(targets) == 1:
                    raise
                summary, image = target_summary(target, None, None), None
                summary.update(status='error', error=str(e), seconds=0.0, fps=0.0)
            summaries.append(summary)
            images.append(image)
        return self.postprocess(summaries, images, return_datasamples)

    def _swap_target(self, target: Source, output: Optional[str], face, hair_color, feather,
                     save_dir: Optional[str], pipelined: bool) -> Tuple[dict, Optional[np.ndarray]]:
        start = time.perf_counter()
        kind = 'image' if isinstance(target, np.ndarray) else input_kind(target)
        name = 'array' if isinstance(target, np.ndarray) else target
        summary = target_summary(name, output, kind)
        selector = self._selector(face)
        stem = 'target' if isinstance(target, np.ndarray) else osp.splitext(
            osp.basename(target))[0]
        if kind == 'image':
            img = check_rgb_array(target, 'target') if isinstance(target, np.ndarray) \
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
        # written beside the output under a temporary name, moved into place only when whole
        # and with a swapped face: a failed run never replaces or fakes an output
        partial = None if output is None else partial_path(output)
        progress = self._progress(reader)
        try:
            def device_step(b: FrameBatch) -> None:
                preds = self.forward(b, hair_color)
                b.output = self.visualize(b, preds, feather)
                if every:
                    self.frames.keep_intermediates(b, preds, every)
            for b in self.frames.run(frames, selector, sigma, device_step,
                                     threaded=pipelined and kind == 'video'):
                with self.timer.time('encode'):
                    if kind == 'video':
                        if writer is None:
                            writer = self.writer.open_video(partial, reader, b.output.shape)
                        writer.write(b.output)
                    else:
                        image_out = b.output[0]
                        if output is not None and b.crops[0] is not None:
                            self.writer.write_image(partial, image_out)
                if save_dir and b.saved:
                    self.writer.save_intermediates(save_dir, stem, b)
                count_frames(summary, b)
                if progress is not None:
                    progress.update(len(b))
        finally:
            try:
                if writer is not None:
                    with self.timer.time('encode'):
                        writer.close()
            finally:
                if progress is not None:
                    progress.close()
                if partial is not None and sys.exc_info()[0] is not None:
                    remove_file(partial)
        summary['several_faces'] = selector.counts['several_faces']
        warn_several_faces(name, selector.counts, selector.mode, 'target_face')
        if reader is not None and reader.end is not None and reader.end.error:
            summary.update(status='error', error=f'{target}: {reader.end.error}')
        elif summary['swapped'] == 0:
            why = ', '.join(f'{k}: {v}' for k, v in summary['skipped'].items())
            summary.update(status='error', error=f'{target}: no face was swapped in its '
                           f'{summary["frames"]} frame(s) ({why or "no frames"})')
        if partial is not None:
            settle_output(summary, partial, output)
        summary['seconds'] = round(time.perf_counter() - start, 3)
        summary['fps'] = round(summary['frames'] / max(summary['seconds'], 1e-9), 2)
        return summary, image_out

    def _progress(self, reader: Optional[VideoReader]):
        from tqdm import tqdm
        return None if reader is None or not self.show_progress else tqdm(
            total=reader.expected_frames or None, unit='frame', desc='swap', dynamic_ncols=True)
