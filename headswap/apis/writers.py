"""Output writers of the inferencer: images, videos with the target's audio, intermediates,
all with provenance (watermark + metadata, :mod:`headswap.provenance`); and where each
target's output goes."""
import os
import os.path as osp
import uuid
from typing import List, Optional, Sequence, Tuple

import numpy as np

from headswap.errors import UserError
from .media import input_kind, list_images

__all__ = [
    'OutputWriter', 'colorize', 'count_frames', 'output_paths', 'partial_path', 'remove_file',
    'settle_output', 'target_summary'
]

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.webp')


def colorize(labels: np.ndarray) -> np.ndarray:
    """``(H, W)`` parsing labels -> ``(H, W, 3)`` uint8 in the parsing palette."""
    from headswap.structures.face_labels import PARSING_PALETTE
    palette = np.zeros((256, 3), np.uint8)
    palette[:len(PARSING_PALETTE)] = np.array(PARSING_PALETTE, np.uint8)
    return palette[labels]


def output_paths(inputs, out: Optional[str]) -> List[Tuple[object, Optional[str]]]:
    """``[(target, output path or None)]``: folders of targets expanded, outputs named after
    the targets (``<stem>_swap<ext>``; videos as .mp4) when ``out`` is a folder."""
    items = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    expanded = []
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
        if ext not in IMAGE_SUFFIXES + ('.mp4', ):
            ext = '.png'
        pairs.append((item, osp.join(out, f'{stem}_swap{ext}')))
    return pairs


def target_summary(target, output: Optional[str], kind: Optional[str]) -> dict:
    """The report of one target before its frames are counted (see ``HeadSwapInferencer``)."""
    return dict(target=target, output=output, kind=kind, frames=0, swapped=0, no_face=0,
                skipped={}, several_faces=0, status='ok', error=None)


def count_frames(summary: dict, batch) -> None:
    """Add a batch of frames to ``summary``: swapped, or passed through (by reason)."""
    summary['frames'] += len(batch)
    for crop, reason in zip(batch.crops, batch.reasons):
        if crop is not None:
            summary['swapped'] += 1
        else:
            summary['no_face'] += 1
            key = reason if reason != 'ok' else 'no_face'
            summary['skipped'][key] = summary['skipped'].get(key, 0) + 1


def partial_path(output: str) -> str:
    """Where ``output`` is written until it is whole: a hidden, unique name beside it with its
    suffix (the writers pick the format by it); moved into place with ``os.replace``."""
    folder, name = osp.split(osp.abspath(output))
    stem, ext = osp.splitext(name)
    return osp.join(folder, f'.{stem}.partial-{uuid.uuid4().hex[:8]}{ext}')


def settle_output(summary: dict, partial: str, output: str) -> None:
    """Move a target's finished ``partial`` file to ``output`` if its ``summary`` says ok;
    otherwise delete it (an existing ``output`` stays as it was) and say so in the error."""
    if summary['status'] == 'ok':
        os.replace(partial, output)
        return
    remove_file(partial)
    keep = ' (the existing file is left as it was)' if osp.exists(output) else ''
    summary['error'] += f'; nothing written to {output}{keep}'
    summary['output'] = None


def remove_file(path: str) -> None:
    if osp.exists(path):
        os.remove(path)


class OutputWriter:
    """Writes what the inferencer makes, every file with ``provenance``.

    Args:
        provenance: A :class:`headswap.provenance.Provenance`.
        settings: The inference settings; ``video`` holds the libx264 ``crf`` and ``preset``
            (read when a video is opened).
    """

    def __init__(self, provenance, settings: Optional[dict] = None):
        self.provenance = provenance
        self.settings = settings if settings is not None else {}

    def write_image(self, path: str, rgb: np.ndarray) -> None:
        """A swapped image (its pixels were watermarked on the device already)."""
        from headswap.provenance import write_image
        ext = osp.splitext(path)[1].lower()
        if ext not in IMAGE_SUFFIXES:
            raise UserError(f'{path}: write images as .png, .jpg or .webp')
        write_image(path, rgb, self.provenance, already_marked=True)

    def open_video(self, output: str, reader, shape: Tuple[int, ...]):
        """A video writer at the target's frame rate, muxing the target's audio."""
        from headswap.provenance import open_video_writer
        video = self.settings.get('video', {})
        return open_video_writer(output, reader.fps, (shape[2], shape[1]), self.provenance,
                                 audio_from=reader.path if reader.has_audio else None,
                                 already_marked=True, crf=video.get('crf', 18),
                                 preset=video.get('preset', 'ultrafast'))

    def save_intermediates(self, folder: str, stem: str, batch) -> None:
        """The intermediates kept in ``batch.saved`` as PNGs named by frame index."""
        from headswap.provenance import write_image
        for i, images in batch.saved.items():
            for name, arr in images.items():
                write_image(osp.join(folder, f'{stem}_{batch.indices[i]:06d}_{name}.png'),
                            np.ascontiguousarray(arr), self.provenance)

    def save_source_crops(self, folder: str, crops: Sequence[np.ndarray]) -> None:
        from headswap.provenance import write_image
        for k, crop in enumerate(crops):
            write_image(osp.join(folder, f'source_{k:02d}_crop.png'), crop, self.provenance)
