"""Write videos that say they are synthetic (MP4 / MOV via PyAV) and read those marks back.

Container metadata (``comment``, ``description`` and a ``headswap:provenance`` JSON tag written
with ``movflags=use_metadata_tags``), frames watermarked on the way in unless the caller
marked them already (the fast path: ``mark_frames`` on the GPU), the audio of ``audio_from``
copied (stream copy, AAC re-encode when the codec cannot go into the container), and a C2PA
manifest signed over the finished file when enabled and available.
"""
import fractions
import os
import os.path as osp
import shutil
import tempfile
from typing import Dict, Iterator, Optional, Tuple, Union

import av
import numpy as np
import torch

from headswap.utils.media_io import VideoDecodeError, decode_video
from .c2pa_signer import MIME_TYPES, c2pa_available, sign_file, warn_no_c2pa
from .info import JSON_KEY, Provenance, from_json_fields
from .watermark import mark_frames

__all__ = ['VideoWriter', 'open_video_writer', 'tag_video', 'read_video_metadata',
           'iter_video_frames', 'VIDEO_SUFFIXES']

VIDEO_SUFFIXES = ('.mp4', '.m4v', '.mov', '.mkv', '.avi', '.webm')
_COPY_AUDIO = {'aac', 'mp3', 'alac', 'ac3', 'eac3', 'opus'}


def _container_metadata(prov: Provenance) -> Dict[str, str]:
    return {'comment': prov.description, 'description': prov.description,
            JSON_KEY: prov.to_json()}


class VideoWriter:
    """Encode RGB frames to H.264 with provenance metadata; use as a context manager.

    Args:
        path: output file (.mp4 or .mov for C2PA; .mkv works without it).
        fps: frame rate (a Fraction keeps e.g. 30000/1001 exact).
        size: (width, height) of the frames.
        provenance: the record to embed; ``Provenance()`` (watermark on) when None.
        audio_from: a media file whose first audio stream is copied into the output.
        already_marked: frames passed to :meth:`write` were watermarked already.
        crf: x264 constant rate factor; ``preset``: x264 preset.

    H.264 in 4:2:0 (the format players accept) needs even frame sizes: an odd width or
    height is padded by repeating the last column / row, so every input pixel is kept
    and the output is one pixel wider / taller (:attr:`padded`).
    """

    def __init__(self, path: str, fps: Union[float, fractions.Fraction], size: Tuple[int, int],
                 provenance: Optional[Provenance] = None, audio_from: Optional[str] = None,
                 already_marked: bool = False, crf: int = 18, preset: str = 'medium') -> None:
        self.path = path
        self.provenance = provenance or Provenance()
        self.already_marked = already_marked
        self.width, self.height = int(size[0]), int(size[1])
        if self.width < 1 or self.height < 1:
            raise ValueError(f'{path}: invalid frame size {self.width}x{self.height}')
        self.padded = (self.width % 2, self.height % 2)
        rate = fractions.Fraction(fps).limit_denominator(1001)
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        self._container = av.open(path, 'w', options={'movflags': 'use_metadata_tags'})
        self._container.metadata.update(_container_metadata(self.provenance))
        self._video = self._container.add_stream('libx264', rate=rate)
        self._video.width = self.width + self.padded[0]
        self._video.height = self.height + self.padded[1]
        self._video.pix_fmt = 'yuv420p'
        self._video.options = {'crf': str(crf), 'preset': preset}
        self._video.codec_context.time_base = fractions.Fraction(1, 1) / rate
        self._rate = rate
        self._frames = 0
        self._audio_in = self._audio_out = self._audio_packets = None
        self._resampler = None
        if audio_from is not None:
            self._open_audio(audio_from)
        self._closed = False

    @property
    def frames_written(self) -> int:
        return self._frames

    def _open_audio(self, source: str) -> None:
        src = av.open(source)
        if not src.streams.audio:
            src.close()
            return
        stream = src.streams.audio[0]
        self._audio_in = src
        if stream.codec_context.name in _COPY_AUDIO:
            self._audio_out = self._container.add_stream_from_template(stream)
        else:
            self._audio_out = self._container.add_stream('aac', rate=stream.rate or 48000)
            self._resampler = av.AudioResampler(format='fltp', layout='stereo',
                                                rate=stream.rate or 48000)
        self._audio_packets = src.demux(stream)
        self._audio_stream = stream

    def write(self, frames: Union[np.ndarray, torch.Tensor]) -> None:
        """Append frames: (H, W, 3) or (N, H, W, 3) uint8 arrays, or (N, 3, H, W) uint8 tensors."""
        if isinstance(frames, torch.Tensor):
            if frames.ndim != 4 or frames.shape[1] != 3:
                raise ValueError(f'expected (N, 3, H, W) frames, got {tuple(frames.shape)}')
            batch = frames
        else:
            arr = np.asarray(frames)
            arr = arr[None] if arr.ndim == 3 else arr
            if arr.ndim != 4 or arr.shape[3] != 3:
                raise ValueError(f'expected (N, H, W, 3) frames, got {arr.shape}')
            batch = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2)
        if batch.dtype != torch.uint8:
            raise ValueError(f'expected uint8 frames, got {batch.dtype}')
        if tuple(batch.shape[2:]) != (self.height, self.width):
            raise ValueError(f'frame size {batch.shape[3]}x{batch.shape[2]} differs from the '
                             f'writer size {self.width}x{self.height}')
        if self.provenance.watermark and not self.already_marked:
            batch = mark_frames(batch)
        if self.padded[0]:
            batch = torch.cat([batch, batch[..., -1:]], dim=3)
        if self.padded[1]:
            batch = torch.cat([batch, batch[..., -1:, :]], dim=2)
        rgb = batch.permute(0, 2, 3, 1).contiguous().cpu().numpy()
        for frame in rgb:
            vf = av.VideoFrame.from_ndarray(frame, format='rgb24')
            vf.pts = self._frames
            vf.time_base = self._video.codec_context.time_base
            self._container.mux(self._video.encode(vf))
            self._frames += 1
        self._mux_audio(until=float(self._frames / self._rate))

    def _mux_audio(self, until: float) -> None:
        """Interleave source audio up to ``until`` seconds.

        A damaged source (e.g. a truncated file whose video is still being written) ends
        the audio where it can no longer be read; the video is not affected.
        """
        if self._audio_packets is None:
            return
        try:
            for packet in self._audio_packets:
                if packet.dts is None:
                    continue
                if self._resampler is None:
                    packet.stream = self._audio_out
                    self._container.mux(packet)
                else:
                    for frame in packet.decode():
                        frame.pts = None
                        for resampled in self._resampler.resample(frame):
                            self._container.mux(self._audio_out.encode(resampled))
                if packet.pts is not None and float(packet.pts * packet.time_base) >= until:
                    return
        except av.error.FFmpegError as exc:
            import logging
            logging.getLogger('headswap.provenance').warning(
                'audio of the source ends early: %s', exc)
        self._audio_packets = None

    def close(self) -> None:
        """Flush the encoder, copy audio up to the video's end, close, sign C2PA (if enabled)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._container.mux(self._video.encode(None))
            self._mux_audio(until=float(self._frames / self._rate))  # audio ends with the video
            if self._resampler is not None:
                self._container.mux(self._audio_out.encode(None))
        finally:
            self._container.close()
            if self._audio_in is not None:
                self._audio_in.close()
        _maybe_sign(self.path, self.provenance)

    def __enter__(self) -> 'VideoWriter':
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()


def open_video_writer(path: str, fps: Union[float, fractions.Fraction], size: Tuple[int, int],
                      provenance: Optional[Provenance] = None, audio_from: Optional[str] = None,
                      already_marked: bool = False, **kwargs) -> VideoWriter:
    """A :class:`VideoWriter` (see there); frames are watermarked unless ``already_marked``."""
    return VideoWriter(path, fps, size, provenance, audio_from, already_marked, **kwargs)


def tag_video(path: str, provenance: Optional[Provenance] = None) -> str:
    """Add provenance metadata (and C2PA) to an existing video in place, without re-encoding.

    For videos written by other code. It does not watermark pixels: the frames must have been
    marked with ``mark_frames`` (or ``provenance.watermark`` must be False, which is recorded).
    """
    prov = provenance or Provenance()
    suffix = osp.splitext(path)[1].lower()
    fd, tmp = tempfile.mkstemp(suffix=suffix, dir=osp.dirname(osp.abspath(path)))
    os.close(fd)
    try:
        with _open_media(path) as src, \
                av.open(tmp, 'w', options={'movflags': 'use_metadata_tags'}) as dst:
            dst.metadata.update({k: v for k, v in src.metadata.items()
                                 if k not in ('major_brand', 'minor_version',
                                              'compatible_brands', 'encoder')})
            dst.metadata.update(_container_metadata(prov))
            mapping = {}
            for stream in src.streams:
                if stream.type in ('video', 'audio'):
                    mapping[stream.index] = dst.add_stream_from_template(stream)
            for packet in src.demux(*[s for s in src.streams if s.index in mapping]):
                if packet.dts is None:
                    continue
                packet.stream = mapping[packet.stream.index]
                dst.mux(packet)
        shutil.copymode(path, tmp)  # mkstemp makes 0600 files: keep the original's mode
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    _maybe_sign(path, prov)
    return path


def _maybe_sign(path: str, prov: Provenance) -> None:
    if prov.c2pa and osp.splitext(path)[1].lower() in MIME_TYPES:
        if c2pa_available():
            sign_file(path, prov)
        else:
            warn_no_c2pa()


def _open_media(path: str):
    if not osp.isfile(path):
        raise FileNotFoundError(f'no such file: {path}')
    try:
        return av.open(path)
    except av.FFmpegError as exc:
        raise ValueError(f'cannot read video {path}: {exc}') from exc


def read_video_metadata(path: str) -> Dict[str, Dict[str, str]]:
    """Provenance fields in a video's container metadata: {'container': fields} or {}."""
    with _open_media(path) as container:
        meta = dict(container.metadata)
    fields = from_json_fields(meta.get(JSON_KEY, ''))
    if not fields and 'headswap' in meta.get('comment', ''):
        fields = {'comment': meta['comment']}
    return {'container': fields} if fields else {}


def iter_video_frames(path: str, max_frames: Optional[int] = None,
                      stride: int = 1) -> Iterator[np.ndarray]:
    """Decode RGB frames (H, W, 3) uint8; every ``stride``-th, at most ``max_frames``."""
    with _open_media(path) as container:
        if not container.streams.video:
            raise ValueError(f'{path} has no video stream')
        limit = 0 if max_frames is None else max(int(max_frames), 1)
        frames = decode_video(container, stride, limit)
        try:
            for _, rgb in frames:
                yield rgb
        except VideoDecodeError as exc:
            if exc.frames == 0:
                raise ValueError(f'cannot decode video {path}: {exc.reason}') from None
